"""One year of daily data through the whole graph with the default walk-forward settings: the
history is too short for the classic 12 initial months, so the plan adapts (a third of the year),
the folds run, the gate is evaluated, and the price answers come from the demand fit."""

import json
from pathlib import Path

import dagster as dg
import pytest
import yaml

from mmm_pipeline.core.data.simulator_retail_price import CHANNELS, simulate_price_retail
from mmm_pipeline.definitions import defs
from mmm_pipeline.defs.partitions import FOLD_PARTITIONS, range_tags
from mmm_pipeline.defs.resources import dataset_run_config

FAST = {  # fast fits; walk_forward is left at its defaults on purpose
    "training": {"epochs": 25, "patience": 10},
    "model": {"hidden_units": 4},
    "bootstrap": {"replicates": 3},
    "baselines": {"models": ["ols"]},
    "optimizer": {"sensitivity": [0.0]},
    "price_scenarios": {"changes": [0.05], "margin": 0.3},
    "gate": {"min_oos_r2": -10.0, "max_block_r2_std": 10.0, "max_block_r2_range": 10.0, "min_naive_skill": -10.0,
             "max_elasticity_cv": 100.0, "max_constraint_violations": 1.0},
}


def write_one_year(folder: Path) -> Path:
    """The price simulator's year written as raw files plus a dataset YAML; returns the YAML."""
    folder.mkdir(parents=True, exist_ok=True)
    table, _, _ = simulate_price_retail(3, n_days=365)
    table["date"] = table["date"].dt.strftime("%Y-%m-%d")
    table[["date", "category", "node", "gmv", "units", "list_price", "discount"]].to_csv(folder / "sales.csv", index=False)
    channels = [name for name, _, _ in CHANNELS]
    table.drop_duplicates("date")[["date", *channels]].to_csv(folder / "media.csv", index=False)
    sales = table.loc[table["special_sale"] > 0, ["date"]].drop_duplicates().assign(name="Sale")
    sales.to_csv(folder / "sale.csv", index=False)
    raw = {
        "name": "one_year", "title": "one year of daily sales", "simulated": True, "frequency": "daily",
        "sources": {
            "main": {"path": str(folder / "sales.csv"), "date": {"column": "date", "format": "%Y-%m-%d"},
                     "frequency": "daily", "kind": "fact"},
            "media": {"path": str(folder / "media.csv"), "date": {"column": "date", "format": "%Y-%m-%d"},
                      "frequency": "daily", "kind": "media"},
            "special_sale": {"path": str(folder / "sale.csv"), "date": {"column": "date", "format": "%Y-%m-%d"},
                             "frequency": "daily", "kind": "calendar", "name_column": "name"},
        },
        "target": {"name": "gmv", "column": "gmv"},
        "channels": [{"name": ch, "spend": ch, "source": "media"} for ch in channels],
        "events": [{"name": "special_sale", "source": "special_sale"}],
        "price": {"list_price": "list_price", "discount": "discount", "discount_kind": "fraction", "units": "units"},
        "hierarchy": {"category": "category", "subcategory": "node", "level": "subcategory"},
        "holdout": {"periods": 28},
        "settings": FAST,
    }
    path = folder / "one_year.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def one_year(tmp_path_factory):
    root = tmp_path_factory.mktemp("one_year")
    run_config = dataset_run_config(str(write_one_year(root / "data")), str(root / "outputs"))
    with dg.instance_for_test() as instance:
        prepare = defs.resolve_job_def("prepare_data").execute_in_process(
            instance=instance, run_config=run_config, raise_on_error=False)
        months = list(instance.get_dynamic_partitions(FOLD_PARTITIONS.name))
        train = defs.resolve_job_def("train_and_report").execute_in_process(
            instance=instance, run_config=run_config, tags=range_tags(months), raise_on_error=False) if months else None
        yield prepare, months, train, root / "outputs" / "one_year"


def test_the_default_walk_forward_runs_on_one_year_of_daily_data(one_year):
    prepare, months, train, outputs = one_year
    assert prepare.success
    assert months == [f"2023-{m:02d}" for m in range(5, 13)]  # 4 initial months, 8 monthly folds
    assert train is not None and train.success
    summary = json.loads((outputs / "summary.json").read_text())
    plan = summary["walk_forward"]["fold_plan"]
    assert (plan["fold_length"], plan["initial_window"], plan["folds"]) == ("month", 4, 8)
    assert "a third of the 12 months" in plan["description"]
    assert summary["price_source"].startswith("demand fit on log(units)")
    assert summary["price_elasticity"]["Groceries"]["mean"] > 0 > summary["price_elasticity"]["Electronics"]["mean"]
    scenarios = json.loads((outputs / "scenarios.json").read_text())
    priced = [s for s in scenarios if s.get("source") == "price"]
    assert len(priced) == 5 and all(s["profit_lift"] is not None for s in priced)
