"""Turning a plan into model inputs: which history each future period replays, dates that
continue the data, spend where the plan puts it, and plans the dataset cannot take refused."""

import numpy as np
import pandas as pd
import pytest

from mmm_pipeline.api.errors import RequestError
from mmm_pipeline.api.plans import future_data, future_dates, parse_plan, replay_index
from mmm_pipeline.core.config import load_dataset_config
from mmm_pipeline.core.data.modeling_table import load_dataset
from mmm_pipeline.core.features.build import build_model_data
from mmm_pipeline.core.plan.horizon import current_spend


@pytest.fixture(scope="module")
def data():
    config = load_dataset_config("pymc_example")
    return build_model_data(load_dataset(config).table, config)


def test_future_periods_replay_a_year_earlier_when_the_history_has_it():
    assert list(replay_index(179, 13, "weekly")) == list(range(127, 140))
    longer = replay_index(179, 60, "weekly")
    assert list(longer[:52]) == list(range(127, 179)) and list(longer[52:]) == list(range(127, 135))


def test_short_histories_replay_their_latest_periods():
    assert list(replay_index(200, 30, "daily")) == list(range(170, 200)), "under a year of days"
    assert list(replay_index(10, 15, "monthly")) == list(range(10)) + list(range(5))


def test_future_dates_continue_the_data_and_refuse_gaps():
    weekly = pd.date_range("2024-01-01", periods=10, freq="W-MON")
    assert list(future_dates(weekly, 2)) == [pd.Timestamp("2024-03-11"), pd.Timestamp("2024-03-18")]
    with pytest.raises(ValueError, match="evenly spaced"):
        future_dates(pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-10", "2024-02-01"]), 2)


def test_a_plan_sets_the_spend_it_names_and_keeps_the_run_rate_of_the_rest(data):
    plan = parse_plan({"periods": 4, "spend": {"x1": [1.0, 2.0, 3.0, 4.0]}}, data, 13)
    assert plan.spend[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert np.allclose(plan.spend[:, 1], current_spend(data, 4)[1])
    joined = future_data(data, plan, history=8)
    assert len(joined.dates) == 12 and joined.dates[8] > data.dates[-1]
    assert joined.spend[8:, 0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert np.array_equal(joined.spend[:8], data.spend[-8:]), "carry-over starts from the observed spend"
    events = [data.feature_names.index("event_1"), data.feature_names.index("event_2")]
    rows = replay_index(len(data.dates), 4, data.frequency)
    assert np.array_equal(joined.X[8:, :, events], data.X[rows][:, :, events])


@pytest.mark.parametrize(("plan", "field"), [
    ({"spend": {"tv": 1.0}}, "spend.tv"),
    ({"spend": {"x1": -1.0}}, "spend.x1"),
    ({"periods": 3, "spend": {"x1": [1.0, 2.0]}}, "spend.x1"),
    ({"periods": 10_000}, "periods"),
    ({"price_change": -0.05}, "price_change"),
    ({"budget": 1}, "budget"),
])
def test_plans_the_dataset_cannot_take_name_the_field(data, plan, field):
    with pytest.raises(RequestError) as caught:
        parse_plan(plan, data, 13)
    assert caught.value.field == field
