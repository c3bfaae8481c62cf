"""Dagster assets of the evaluation stage (thin wrappers over mmm_pipeline.core)."""
