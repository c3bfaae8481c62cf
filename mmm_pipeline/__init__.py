"""mmm_pipeline: marketing-mix modelling with a constrained Neural Additive Model on Dagster.

The Dagster ``Definitions`` live in :mod:`mmm_pipeline.definitions`; the pure modelling
core, usable from a notebook without Dagster, lives in :mod:`mmm_pipeline.core`.
"""

__version__ = "0.1.0"
