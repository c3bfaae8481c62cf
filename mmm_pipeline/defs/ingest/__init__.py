"""Dagster assets of the ingest stage (thin wrappers over mmm_pipeline.core)."""
