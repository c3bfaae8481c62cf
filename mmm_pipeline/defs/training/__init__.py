"""Dagster assets of the training stage (thin wrappers over mmm_pipeline.core)."""
