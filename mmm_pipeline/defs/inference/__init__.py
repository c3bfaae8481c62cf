"""Dagster assets of the inference stage (thin wrappers over mmm_pipeline.core)."""
