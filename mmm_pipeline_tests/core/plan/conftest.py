"""Shared fixtures for the planning tests: small media-only datasets and known response models."""

import numpy as np
import pandas as pd
import pytest
import torch

from mmm_pipeline.core.features.model_data import FeatureSpec, ModelData
from mmm_pipeline.core.plan.true_response import HillMediaResponse

torch.set_num_threads(1)

CHANNELS = ["tv", "search", "radio", "social"]


def make_media_data(n_periods: int = 104, seed: int = 0, channels: list[str] | None = None) -> ModelData:
    """Weekly national data with media features only (y is not used by the planning code)."""
    channels = channels or CHANNELS
    rng = np.random.default_rng(seed)
    levels = np.array([200.0, 100.0, 50.0, 80.0, 60.0])[: len(channels)]
    spend = rng.uniform(0.6, 1.4, size=(n_periods, len(channels))) * levels
    return ModelData(
        dates=pd.date_range("2023-01-02", periods=n_periods, freq="W-MON"),
        nodes=["total"],
        node_category=["total"],
        X=spend[:, None, :],
        y=np.ones((n_periods, 1)),
        features=[FeatureSpec(c, "media", "marketing") for c in channels],
        frequency="weekly",
        target_name="revenue",
    )


def make_hill_model(n_models: int = 1, spread: float = 0.0, seed: int = 0, channels: list[str] | None = None) -> HillMediaResponse:
    """K members around fixed parameters; ``spread`` is the log-sd of member perturbations."""
    channels = channels or CHANNELS
    c = len(channels)
    rng = np.random.default_rng(seed)
    base = {
        "decay": np.array([0.5, 0.1, 0.3, 0.2, 0.4])[:c],
        "half": np.array([220.0, 90.0, 60.0, 70.0, 50.0])[:c],
        "slope": np.array([1.3, 1.0, 1.6, 1.1, 1.2])[:c],
        "coef": np.array([900.0, 350.0, 110.0, 260.0, 90.0])[:c],
    }
    jitter = lambda v: v[None, :] * np.exp(rng.normal(0.0, spread, size=(n_models, c)))  # noqa: E731
    return HillMediaResponse(
        channels, np.clip(jitter(base["decay"]), 0.0, 0.9), jitter(base["half"]), jitter(base["slope"]),
        jitter(base["coef"]), l_max=6,
    )


@pytest.fixture
def media_data() -> ModelData:
    return make_media_data()


@pytest.fixture
def point_model() -> HillMediaResponse:
    return make_hill_model()


@pytest.fixture
def replicate_model() -> HillMediaResponse:
    return make_hill_model(n_models=40, spread=0.08, seed=1)


@pytest.fixture
def data_factory():
    return make_media_data


@pytest.fixture
def model_factory():
    return make_hill_model
