"""Dagster assets of the reporting stage (thin wrappers over mmm_pipeline.core)."""
