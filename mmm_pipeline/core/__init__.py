"""Pure modelling core: numpy, pandas and torch only. Nothing here imports Dagster."""
