"""Dagster assets of the features stage (thin wrappers over mmm_pipeline.core)."""
