"""The results writer: schema checks, JSON cleaning and the all-or-nothing folder swap."""

import json

import numpy as np
import pandas as pd
import pytest

from mmm_pipeline.core import results
from mmm_pipeline.core.results import ResultsPayload, ResultsSchemaError, read_results, write_results


def _iv(mean, lo, hi):
    return {"mean": mean, "lo": lo, "hi": hi}


def _payload(**changes) -> ResultsPayload:
    dates = pd.date_range("2024-01-01", periods=3, freq="W-MON")
    summary = {key: None for key in results.SUMMARY_KEYS}
    summary.update(dataset="toy", title="Toy", simulated=True, not_identified=["radio"], notes=[],
                   price_elasticity={"total": _iv(-1.2, -1.5, -0.9)})
    channel = {
        "spend": _iv(100.0, 100.0, 100.0), "contribution": _iv(np.float32(250.0), 200.0, 300.0),
        "share": _iv(0.6, 0.5, 0.7), "roas": _iv(2.5, 2.0, 3.0), "mroas": _iv(1.1, 0.8, 1.4),
        "saturation_spend": 50.0, "mroas_one_spend": None, "current_spend_per_period": np.float64(33.3),
        "identified": True, "reason": "", "adstock": {"decay": _iv(0.3, 0.2, 0.4), "weights": np.array([0.7, 0.3])},
        "saturation": {"form": "hill", "params": {"slope": 1.2}},
    }
    payload = dict(
        summary=summary,
        channels={"tv": channel, "radio": dict(channel, identified=False, reason="interval includes zero",
                                              roas=_iv(0.5, -0.1, 1.1))},
        decomposition=pd.DataFrame({"date": dates, "node": "total", "actual": [3.0, 4.0, 5.0],
                                    "predicted": [3.1, 3.9, 5.2], "base": [1.0, 1.0, 1.0], "tv": [2.1, 2.9, 4.2]}),
        response_curves={"tv": {"spend": [0.0, 1.0], "mean": [0.0, 2.0], "lo": [0.0, 1.5], "hi": [0.0, 2.5],
                                "current_spend": 1.0, "optimal_spend": None, "saturation_spend": 50.0}},
        elasticities={"tv": {"total": _iv(0.1, 0.05, float("nan"))}},
        optimal_allocation={"total_budget": 10.0, "horizon_periods": 2, "objective": "conservative",
                            "recommended": False, "reason": "keep", "probability_beats_current": 0.5,
                            "channels": {}, "revenue_current": _iv(1, 0, 2), "revenue_optimal": _iv(1, 0, 2),
                            "lift": _iv(0, -1, 1), "plan": [], "sensitivity": []},
        scenarios=[{"name": "tv_off", "description": "TV x0", "revenue": _iv(9.0, 8.0, 10.0),
                    "lift_pct": _iv(-3.0, -5.0, -1.0)}],
        holdout_predictions=pd.DataFrame({"date": dates, "node": "total", "actual": [1.0, 2.0, 3.0],
                                          "predicted": [1.1, 2.1, 2.9], "fold": ["2024-01"] * 3}),
    )
    payload.update(changes)
    return ResultsPayload(**payload)


def test_writes_every_file_as_plain_json_and_csv(tmp_path):
    out = write_results(tmp_path / "toy", _payload())
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(results.JSON_FILES + results.CSV_FILES)
    back = read_results(out)
    assert back["channels.json"]["tv"]["contribution"]["mean"] == 250.0
    assert back["channels.json"]["tv"]["adstock"]["weights"] == [0.7, 0.3]
    assert back["elasticities.json"]["tv"]["total"]["hi"] is None  # NaN -> null
    assert back["summary.json"]["schema_version"] == results.SCHEMA_VERSION
    assert back["decomposition.csv"]["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2024-01-08", "2024-01-15"]
    json.loads((out / "scenarios.json").read_text())  # strict JSON (no NaN tokens)
    assert "NaN" not in (out / "elasticities.json").read_text()
    assert not list(tmp_path.glob(".tmp*"))


def test_schema_problems_are_listed_and_nothing_is_written(tmp_path):
    bad = _payload(summary={"dataset": "toy"}, scenarios=[{"name": "x", "revenue": _iv(2, 3, 1)}])
    with pytest.raises(ResultsSchemaError) as err:
        write_results(tmp_path / "toy", bad)
    text = str(err.value)
    assert "summary.json: missing key 'gate'" in text
    assert "scenarios.json[0]: missing key 'lift_pct'" in text
    assert "lo 3 > hi 1" in text
    assert not (tmp_path / "toy").exists()
    broken = _payload()
    broken.channels["radio"]["reason"] = ""
    with pytest.raises(ResultsSchemaError, match="not identified but no reason"):
        write_results(tmp_path / "toy", broken)


def test_a_failed_write_leaves_the_previous_results_untouched(tmp_path, monkeypatch):
    out = write_results(tmp_path / "toy", _payload())
    (out / "report.html").write_text("old report")
    before = (out / "channels.json").read_text()

    def explode(path, frame):
        raise OSError("disk full")

    monkeypatch.setattr(results, "_write_csv", explode)
    newer = _payload()
    newer.channels["tv"]["roas"] = _iv(9.0, 8.0, 10.0)
    with pytest.raises(OSError, match="disk full"):
        write_results(out, newer)
    assert (out / "channels.json").read_text() == before
    assert (out / "report.html").read_text() == "old report"
    assert not list(tmp_path.glob(".tmp*"))


def test_a_rewrite_replaces_the_whole_folder(tmp_path):
    out = write_results(tmp_path / "toy", _payload())
    (out / "report.html").write_text("stale report for old numbers")
    newer = _payload()
    newer.channels["tv"]["roas"] = _iv(9.0, 8.0, 10.0)
    write_results(out, newer)
    assert read_results(out)["channels.json"]["tv"]["roas"]["mean"] == 9.0
    assert not (out / "report.html").exists()
    assert not list(tmp_path.glob(".tmp*"))


def test_unserialisable_values_are_named(tmp_path):
    with pytest.raises(ResultsSchemaError, match="cannot write a object"):
        write_results(tmp_path / "toy", _payload(scenarios=[{"name": "x", "description": "", "revenue": _iv(1, 0, 2),
                                                             "lift_pct": _iv(0, -1, 1), "bad": object()}]))
    assert not (tmp_path / "toy").exists()


def test_keyword_parts_work_and_missing_parts_are_named(tmp_path):
    parts = _payload().__dict__
    out = write_results(tmp_path / "toy", **parts)
    assert (out / "summary.json").is_file()
    partial = {k: v for k, v in parts.items() if k != "scenarios"}
    with pytest.raises(ResultsSchemaError, match="scenarios"):
        write_results(tmp_path / "other", **partial)
