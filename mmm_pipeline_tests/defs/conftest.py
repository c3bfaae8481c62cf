"""Fixtures for the Dagster-layer tests (the tiny dataset itself is in tiny_dataset.py)."""

from pathlib import Path

import pytest
from tiny_dataset import write_tiny_dataset


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    return write_tiny_dataset(tmp_path)
