"""Fixtures for the data tests: the toy retailer on disk and the shipped dataset configs."""

from pathlib import Path

import pytest
from toy_retail import toy_config, write_toy_files

from mmm_pipeline.core.config import DatasetConfig, load_dataset_config
from mmm_pipeline.core.data.modeling_table import LoadedDataset, load_dataset


@pytest.fixture
def toy_paths(tmp_path: Path) -> dict[str, Path]:
    return write_toy_files(tmp_path / "toy")


@pytest.fixture
def toy(toy_paths: dict[str, Path]) -> DatasetConfig:
    return toy_config(toy_paths)


@pytest.fixture(scope="session")
def toy_loaded(tmp_path_factory: pytest.TempPathFactory) -> LoadedDataset:
    """The toy retailer loaded once (read-only: tests must not modify it)."""
    return load_dataset(toy_config(write_toy_files(tmp_path_factory.mktemp("toy_shared"))))


@pytest.fixture(scope="session")
def robyn() -> DatasetConfig:
    return load_dataset_config("robyn_weekly")


@pytest.fixture(scope="session")
def robyn_loaded(robyn: DatasetConfig) -> LoadedDataset:
    """Robyn's data loaded once (read-only: tests must not modify it)."""
    return load_dataset(robyn)


@pytest.fixture(scope="session")
def pymc() -> DatasetConfig:
    return load_dataset_config("pymc_example")
