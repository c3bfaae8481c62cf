"""Thin Dagster adapters over mmm_pipeline.core, one folder per stage."""
