"""Dagster assets of the planning stage (thin wrappers over mmm_pipeline.core)."""
