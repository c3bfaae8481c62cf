"""The weekly simulator's designs: each has the property it claims, and the default is untouched.

benchmarks/identification.py judges the product on these designs, so a design that silently
lost its property (weak data that became informative, a mediator media no longer drive) would
make the benchmark measure the wrong thing. The oracle information bound used here is the
benchmark's own (benchmarks/information_bound.py): the Cramér-Rao standard error of each ROAS
under the true model.
"""

import importlib.util
import json

import numpy as np
import pandas as pd
import pytest

from mmm_pipeline.core.config import PROJECT_ROOT, load_dataset_config
from mmm_pipeline.core.data.simulator import (
    TrueModel,
    adstock,
    geometric_weights,
    main,
    simulate_weekly,
    write_simulation,
)
from mmm_pipeline.core.data.simulator_weekly import BRAND_COLUMN, DEMAND_COLUMN, WEEKLY_DESIGNS

SEEDS = (1, 2, 3)


def _information_bound():
    path = PROJECT_ROOT / "benchmarks" / "information_bound.py"
    spec = importlib.util.spec_from_file_location("information_bound", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bound():
    return _information_bound()


@pytest.fixture(scope="module")
def sims():
    return {(d, s): simulate_weekly(seed=s, design=d) for d in WEEKLY_DESIGNS for s in SEEDS}


def _log_on_air(spend: np.ndarray) -> np.ndarray:
    return np.where(spend > 0, np.log(np.maximum(spend, 1e-9)), np.nan)


def test_default_design_is_todays_data():
    """Numbers of the default seed-1 data as they were before designs existed (other tests rely on them)."""
    sim = simulate_weekly(seed=1)
    frame = sim.tables["weekly.csv"]
    assert frame["revenue"].iloc[:3].tolist() == [563336.32, 604666.05, 649266.74]
    np.testing.assert_allclose(frame.iloc[:, 2:7].sum().to_numpy(),
                               [4386981.86, 3088904.13, 3533243.07, 2852949.75, 2528646.34], rtol=1e-12)
    assert [sim.truth["media"][c]["roas"] for c in sim.channels] == [1.8, 1.65, 1.99, 2.38999, 0.88]
    assert "design" not in sim.truth and "brand" not in sim.dataset_yaml
    assert list(frame.columns[-2:]) == ["competitor_sales", "promo_event"]


def test_unknown_design_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match="unknown weekly design 'shiny'.*weak, informative, confounded, mediated"):
        simulate_weekly(design="shiny")


@pytest.mark.parametrize("design", list(WEEKLY_DESIGNS))
def test_design_data_are_consistent_and_the_yaml_loads(design, sims, tmp_path):
    sim = sims[(design, 1)]
    assert len(sim.dates) == WEEKLY_DESIGNS[design].weeks
    assert sim.truth["design"]["name"] == design
    np.testing.assert_allclose(sum(sim.components.values()), sim.target_noiseless, rtol=1e-10)
    written = write_simulation(sim, tmp_path / "sim", dataset_yaml=tmp_path / "d.yaml")
    config = load_dataset_config(str(written["dataset_yaml"]))
    frame = pd.read_csv(config.source_path("main"))
    assert set(config.sources["main"].required_columns) <= set(frame.columns)
    true = TrueModel.load(written["truth.json"])
    stored = pd.read_csv(written["truth_contributions.csv"])
    np.testing.assert_allclose(true.channel_contributions(sim.spend), stored[sim.channels], rtol=1e-9, atol=0.011)


@pytest.mark.parametrize("seed", SEEDS)
def test_weak_spend_is_always_on_and_moves_together(seed, sims, bound):
    sim = sims[("weak", seed)]
    logs = np.log(sim.spend)
    assert (sim.spend > 0).all(), "always-on channels are never dark"
    explained = []
    for i in range(logs.shape[1]):
        others = np.column_stack([np.ones(len(logs)), np.delete(logs, i, axis=1)])
        residual = logs[:, i] - others @ np.linalg.lstsq(others, logs[:, i], rcond=None)[0]
        explained.append(1.0 - residual.var() / logs[:, i].var())
        assert residual.std() < 0.35, f"{sim.channels[i]}: own variation {residual.std():.2f} is not small"
    assert np.mean(explained) > 0.5, f"the shared budget should explain most spend moves, got {np.round(explained, 2)}"
    relative = [v["relative_se"] for v in bound.roas_standard_errors(sim).values()]
    assert max(relative) > 1.0, "at least one channel's ROAS should be beyond what the data can tell"


@pytest.mark.parametrize("seed", SEEDS)
def test_informative_pins_every_channel(seed, sims, bound):
    sim = sims[("informative", seed)]
    dark = (sim.spend == 0).mean(axis=0)
    assert ((dark > 0.3) & (dark < 0.8)).all(), f"test-and-learn channels switch on and off, got {dark.round(2)}"
    pairs = np.abs(np.corrcoef(sim.spend.T)[np.triu_indices(len(sim.channels), 1)])
    assert pairs.mean() < 0.2 and pairs.max() < 0.5, f"each channel is planned on its own, got {pairs.round(2)}"
    relative = {c: v["relative_se"] for c, v in bound.roas_standard_errors(sim).items()}
    assert max(relative.values()) <= 0.10, f"oracle relative SE of ROAS {relative}"


@pytest.mark.parametrize("seed", SEEDS)
def test_confounded_spend_chases_the_demand_control(seed, sims):
    sim = sims[("confounded", seed)]
    demand = np.log(sim.tables["weekly.csv"][DEMAND_COLUMN].to_numpy())
    corr = [np.corrcoef(_log_on_air(sim.spend[:, i])[sim.spend[:, i] > 0], demand[sim.spend[:, i] > 0])[0, 1]
            for i in range(len(sim.channels))]
    assert min(corr) > 0.1 and np.mean(corr) > 0.4, f"spend should follow demand, got {np.round(corr, 2)}"
    demand_part = sim.components[DEMAND_COLUMN][:, 0]
    media_part = sum(sim.components[c][:, 0] for c in sim.channels)
    assert demand_part.std() > 0.5 * media_part.std(), "demand must move sales as much as media do"
    assert sim.dataset_yaml["controls"] == [{"name": DEMAND_COLUMN, "column": DEMAND_COLUMN, "kind": "free"}]


@pytest.mark.parametrize("seed", SEEDS)
def test_mediated_awareness_is_built_by_lagged_media_and_carries_part_of_the_return(seed, sims):
    sim = sims[("mediated", seed)]
    awareness = sim.tables["weekly.csv"][BRAND_COLUMN].to_numpy()
    # what an analyst would try without knowing the truth: awareness on media carried over at one generic decay
    carried = adstock(sim.spend, geometric_weights(np.full(len(sim.channels), 0.6), 8))
    design = np.column_stack([np.ones(len(awareness)), carried])
    residual = awareness - design @ np.linalg.lstsq(design, awareness, rcond=None)[0]
    share = 1.0 - residual.var() / awareness.var()
    assert share > 0.5, f"lagged media should explain most of the awareness variation, got {share:.2f}"
    media = sim.truth["media"]
    for c in sim.channels:
        assert media[c]["total_roas"] == media[c]["roas"] >= media[c]["direct_roas"] > 0
    assert media["tv"]["total_roas"] > 1.3 * media["tv"]["direct_roas"], "upper funnel builds the brand"
    assert sim.dataset_yaml["brand"] == [{"name": BRAND_COLUMN, "column": BRAND_COLUMN}]
    assert "role" not in json.dumps(sim.dataset_yaml), "declared the naive way a user would"
    brand_sales = sim.components[BRAND_COLUMN][:, 0]
    assert brand_sales.std() > 0, "awareness has its own drift that moves sales"


def test_cli_writes_a_design(tmp_path, capsys):
    code = main(["simulate", "weekly", "--seed", "2", "--design", "mediated", "--out", str(tmp_path / "m"),
                 "--dataset-yaml", str(tmp_path / "m.yaml")])
    assert code == 0
    truth = json.loads((tmp_path / "m" / "truth.json").read_text())
    assert truth["design"]["name"] == "mediated" and truth["mediator"]["column"] == BRAND_COLUMN
    assert "--design mediated" in (tmp_path / "m.yaml").read_text()
    assert main(["retail_daily", "--design", "weak", "--out", str(tmp_path / "r")]) == 2
    assert "weekly shape only" in capsys.readouterr().err
