"""Decomposition, channel returns, elasticities and response curves from a real bootstrap NAM fit.

One small batched bootstrap fit on simulated weekly data (known truth) is shared by the tests;
a near-constant "ghost" channel with no effect is added to check the honesty guards.
"""

import numpy as np
import pytest
import torch

from mmm_pipeline.core.config import deep_merge, load_defaults
from mmm_pipeline.core.data.simulator import simulate_weekly
from mmm_pipeline.core.features.model_data import FeatureSpec, ModelData
from mmm_pipeline.core.features.simulated import weekly_simulation_model_data
from mmm_pipeline.core.infer.bootstrap import fit_bootstrap
from mmm_pipeline.core.infer.decomposition import (
    decomposition_error,
    decomposition_frame,
    decomposition_sums_to_prediction,
    driver_columns,
)
from mmm_pipeline.core.infer.returns import (
    channel_results,
    data_identifiability,
    elasticity_results,
    not_identified,
    summary_long,
)
from mmm_pipeline.core.plan.horizon import current_spend
from mmm_pipeline.core.plan.sensitivity import response_curves

torch.set_num_threads(1)


def _weekly_model_data(seed: int, n_weeks: int, ghost: bool) -> ModelData:
    data = weekly_simulation_model_data(simulate_weekly(seed=seed, n_weeks=n_weeks))
    if ghost:  # a near-constant channel with no effect, after the real ones
        at = len(data.channel_names)
        level = 20_000.0 * (1 + 0.01 * np.random.default_rng(seed).standard_normal(n_weeks))
        data.X = np.insert(data.X, at, level[:, None], axis=2)
        data.features = [*data.features[:at], FeatureSpec("ghost", "media", "marketing"), *data.features[at:]]
    return data


@pytest.fixture(scope="module")
def boot():
    data = _weekly_model_data(seed=3, n_weeks=104, ghost=True)
    settings = deep_merge(load_defaults(), {"training": {"epochs": 150}, "bootstrap": {"replicates": 12}})
    return data, settings, fit_bootstrap(data, settings)


def test_decomposition_adds_up_to_the_prediction(boot):
    data, _, fit = boot
    frame = decomposition_frame(fit.fitted, data)
    assert list(frame.columns[:6]) == ["date", "node", "category", "actual", "predicted", "base"]
    assert driver_columns(frame) == data.feature_names
    assert len(frame) == len(data.dates) * len(data.nodes)
    scale = float(np.abs(data.y).max())
    assert decomposition_sums_to_prediction(fit.fitted, data, frame) < 1e-6 * scale
    broken = frame.copy()
    broken["tv"] += 1.0
    assert decomposition_error(broken) == pytest.approx(1.0)


def _verdicts_follow_the_roas_intervals(out: dict, limit: float) -> list[str]:
    """Assert each verdict is the rule applied to the channel's own ROAS interval; the identified names."""
    for ch, entry in out.items():
        roas = entry["roas"]
        tight = not roas["lo"] <= 0 <= roas["hi"] and (roas["hi"] - roas["lo"]) / 2 <= limit * abs(roas["mean"])
        assert entry["identified"] == (tight and ch != "ghost"), (ch, limit, roas, entry["reason"])
        assert bool(entry["reason"]) != entry["identified"]  # a reason exactly when not identified
    return [ch for ch, entry in out.items() if entry["identified"]]


def test_identification_verdicts_follow_the_roas_interval_and_its_limit(boot):
    data, settings, fit = boot
    cur = current_spend(data, 13)
    loose = _verdicts_follow_the_roas_intervals(channel_results(fit.fitted, data, settings, cur), 0.5)
    strict_settings = deep_merge(settings, {"bootstrap": {"not_identified_half_width": 0.2}})
    strict_out = channel_results(fit.fitted, data, strict_settings, cur)
    strict = _verdicts_follow_the_roas_intervals(strict_out, 0.2)
    flipped = sorted(set(loose) - set(strict))
    assert flipped and set(strict) < set(loose), "the stricter limit must flip a channel, or this test shows nothing"
    assert all("(limit 20%)" in strict_out[ch]["reason"] for ch in flipped)


def test_channel_returns_have_intervals_and_the_ghost_is_not_identified(boot):
    data, settings, fit = boot
    cur = current_spend(data, 13)
    out = channel_results(fit.fitted, data, settings, cur)
    assert list(out) == data.channel_names
    for ch, entry in out.items():
        for key in ("contribution", "roas", "mroas", "share"):
            iv = entry[key]
            assert iv["lo"] <= iv["hi"] and iv["width"] == pytest.approx(iv["hi"] - iv["lo"])
        assert entry["spend"]["width"] == pytest.approx(0.0, abs=1e-6 * entry["spend"]["mean"])
        assert len(entry["adstock"]["weights"]) > 1
        assert entry["current_spend_per_period"] == pytest.approx(data.spend[-13:, data.channel_names.index(ch)].mean())
    assert not out["ghost"]["identified"]
    assert "too little variation of its own" in out["ghost"]["reason"]
    assert "ghost" in not_identified(out)
    # share intervals come from shares that add up to one within each replicate
    flat = summary_long(fit.fitted.channel_summary(data))
    np.testing.assert_allclose(flat.groupby("member")["share"].sum().to_numpy(), 1.0, rtol=1e-6)


def test_spend_checks_catch_collinear_and_dark_channels():
    data = _weekly_model_data(seed=4, n_weeks=60, ghost=False)
    x = data.X.copy()
    x[:, 0, 1] = 0.5 * x[:, 0, 0] + 1.0  # radio copies tv
    x[:, 0, 4] = 0.0  # display never runs
    data.X = x
    reasons = data_identifiability(data)
    assert "moves together with radio " in reasons["tv"]
    assert "no spend" in reasons["display"]
    assert reasons["search"] == ""


def test_spend_that_only_follows_other_drivers_is_not_identified():
    """An always-on channel whose ups and downs are those of two others, plus a little noise.

    No pairwise correlation is high, yet only the noise is its own. The flagged channel is the
    one whose own variation is small against its own spend; tv and radio keep theirs.
    """
    data = _weekly_model_data(seed=4, n_weeks=104, ghost=False)
    x = data.X.copy()
    rng = np.random.default_rng(0)
    tv, radio = x[:, 0, 0], x[:, 0, 1]
    follower = 0.5 * tv.mean() + tv + radio * tv.mean() / radio.mean()
    x[:, 0, 3] = follower + 0.1 * follower.mean() * rng.standard_normal(len(follower))
    data.X = x
    corr = np.corrcoef(data.spend, rowvar=False)[3]
    assert np.max(np.abs(np.delete(corr, 3))) < 0.95  # the pairwise check alone would let it through
    reasons = data_identifiability(data)
    assert "too little variation of its own" in reasons[data.channel_names[3]]
    assert all(reasons[ch] == "" for ch in ("tv", "radio", "display"))


def test_elasticities_cover_continuous_features_only(boot):
    data, settings, fit = boot
    out = elasticity_results(fit.fitted, data, settings)
    assert set(out) == set(data.channel_names) | {"competitor_sales"}
    for feature, nodes in out.items():
        assert set(nodes) == {"total"}
    assert all(out[ch]["total"]["lo"] >= -1e-9 for ch in data.channel_names)  # media effects are monotone up


def test_response_curves_rise_from_zero_and_mark_the_current_spend(boot):
    data, settings, fit = boot
    cur = current_spend(data, 13)
    curves = response_curves(fit.fitted, data, settings, cur, optimal=cur * 1.1)
    for c, ch in enumerate(data.channel_names):
        curve = curves[ch]
        assert curve["spend"][0] == 0.0 and curve["mean"][0] == pytest.approx(0.0, abs=1e-6)
        assert np.all(np.diff(curve["mean"]) >= -1e-6)
        assert cur[c] in curve["spend"]
        i = curve["spend"].index(cur[c])
        assert curve["current_point"]["contribution"] == curve["mean"][i]
        assert len(curve["average_roi"]["mean"]) == len(curve["spend"])
        assert curve["optimal_spend"] == pytest.approx(cur[c] * 1.1)
