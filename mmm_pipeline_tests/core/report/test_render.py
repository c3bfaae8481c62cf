"""render_report: sections, self-containment, honesty rules and tolerance of partial results."""

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from mmm_pipeline.core.report import render_report
from mmm_pipeline.core.report.derived import (
    lift_fraction,
    node_categories,
    own_price_feature,
    price_elasticity_split,
    scenario_lift_fraction,
)
from mmm_pipeline.core.report.inputs import ResultsError, load_results
from mmm_pipeline.core.report.sections import SECTIONS

ALWAYS_SHOWN = [sid for sid, _title, _build in SECTIONS if sid != "additional-figures"]


def _section(html: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}">(.*?)</section>', html, flags=re.S)
    assert match, f"section {section_id} missing"
    return match.group(1)


def _table_row(html: str, first_cell: str) -> str:
    match = re.search(rf"<tr><td>{re.escape(first_cell)}</td>(.*?)</tr>", html, flags=re.S)
    assert match, f"no table row starting with {first_cell}"
    return match.group(1)


def _png(width: int = 2) -> bytes:
    fig = Figure(figsize=(width, 1))
    fig.subplots().plot([0, 1], [1, 0])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _simulator_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="simulator-data">(.*?)</script>', html, flags=re.S)
    assert match, "simulator data missing"
    return json.loads(match.group(1))


# --- the full report ----------------------------------------------------------------------


def test_full_report_has_every_section_with_content(rendered_report):
    folder, html_path, md_path = rendered_report
    assert html_path == folder / "report.html" and md_path == folder / "report.md"
    html = html_path.read_text()
    for section_id in ALWAYS_SHOWN:
        body = _section(html, section_id)
        assert "<h2>" in body
        assert "Not available for this run" not in body, section_id
        assert "could not be drawn" not in body, section_id
    charted = ["walk-forward", "decomposition", "roas", "saturation", "adstock", "price-elasticity", "budget",
               "scenarios", "residuals", "hierarchy"]
    for section_id in charted:
        assert 'src="data:image/png;base64,' in _section(html, section_id), f"{section_id} has no chart"


def test_walk_forward_shows_the_gates_blocks_with_r2_and_naive_skill(rendered_report):
    body = _section(rendered_report[1].read_text(), "walk-forward")
    assert "Out-of-sample accuracy by block" in body and "2024-07..2024-12" in body
    assert "0.812" in body and "0.640" in body and "skill against last year" in body
    assert "spread (std)" not in body  # the per-fold spread is no longer presented as the stability test


def test_html_needs_no_network(rendered_report):
    html = rendered_report[1].read_text()
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', html), "external reference found"
    assert "<link" not in html and "<script src" not in html and "@import" not in html
    assert "default-src 'none'" in html  # the page itself forbids network loads
    assert "${" not in html  # every template placeholder was filled


def test_simulator_data_carries_the_curves_and_the_non_media_base(rendered_report):
    folder, html_path, _ = rendered_report
    data = _simulator_data(html_path.read_text())
    curves = json.loads((folder / "response_curves.json").read_text())
    channels = json.loads((folder / "channels.json").read_text())
    assert [c["name"] for c in data["channels"]] == list(curves)
    for channel in data["channels"]:
        curve = curves[channel["name"]]
        np.testing.assert_allclose(channel["spend"], curve["spend"])
        np.testing.assert_allclose(channel["mean"], curve["mean"])
        assert channel["current"] == curve["current_spend"]
        np.testing.assert_allclose(channel["weights"], channels[channel["name"]]["adstock"]["weights"])
        assert channel["identified"] == (channel["name"] != "Radio")
    decomposition = pd.read_csv(folder / "decomposition.csv")
    per_date = decomposition.groupby("date")[["predicted", *curves]].sum().tail(data["horizon"])
    expected = (per_date["predicted"] - per_date[list(curves)].sum(axis=1)).mean()
    assert data["base_per_period"] == pytest.approx(expected)


def test_not_identified_channel_shows_range_and_flag_but_no_point_roas(rendered_report):
    folder, html_path, md_path = rendered_report
    radio = json.loads((folder / "channels.json").read_text())["Radio"]
    point = f"{radio['roas']['mean']:.2f}"
    html, md = html_path.read_text(), md_path.read_text()
    row = _table_row(_section(html, "roas"), "Radio")
    assert "not identified" in row
    assert f"{radio['roas']['lo']:.2f} to {radio['roas']['hi']:.2f}" in row
    assert point not in row
    md_row = next(line for line in md.splitlines() if line.startswith("| Radio |"))
    assert "not identified" in md_row and point not in md_row
    summary = _section(html, "executive-summary")
    assert "Not identified: Radio" in summary and point not in summary
    assert "Most effective channel" in summary and "Radio returned" not in summary


def test_executive_summary_states_quality_price_and_recommendation(rendered_report):
    html = rendered_report[1].read_text()
    summary = _section(html, "executive-summary")
    assert "R² 0.87" in summary and "beats the best simple baseline (gbt" in summary
    assert "Search returned 1.94" in summary  # highest ROAS among identified channels
    assert "Audio: 1% price increase → -1.40% sales" in summary
    assert "Reallocate the same budget" in summary and "increase TV (+25%)" in summary
    assert "SIMULATED DATA" in html.split("<main>")[0]  # the header flags simulated data
    assert "SIMULATED DATA" in _section(html, "model-card")


def test_markdown_has_summary_and_well_formed_tables(rendered_report):
    md = rendered_report[2].read_text()
    assert md.startswith("# Toy weekly electronics retailer")
    assert "> **Simulated data**" in md
    for heading in ("## Executive summary", "## Accuracy out of sample", "## Channels", "## Budget", "## Scenarios"):
        assert heading in md
    for block in re.findall(r"((?:^\|.*\|\n)+)", md, flags=re.M):
        lines = block.strip().splitlines()
        widths = {len(re.findall(r"(?<!\\)\|", line)) for line in lines}
        assert len(widths) == 1, f"ragged table:\n{block}"


# --- honesty rules on variants ------------------------------------------------------------
# These check wording and structure, not pixels: rasterising every chart again would cost
# seconds per test, so charts are built but not drawn (the full render above draws them all).


@pytest.fixture
def undrawn_charts(monkeypatch):
    monkeypatch.setattr("mmm_pipeline.core.report.chart_style.to_png", lambda fig: PNG_SIGNATURE)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_unbacked_plan_says_keep_the_current_mix(results_factory, undrawn_charts):
    folder = results_factory(recommended=False, omit=("decomposition.csv", "holdout_predictions.csv"))
    html_path, md_path = render_report(folder)
    summary = _section(html_path.read_text(), "executive-summary")
    assert "Keep the current mix." in summary
    assert "only 62% of judging replicates" in summary
    assert "Reallocate" not in summary
    assert summary.lower().count("keep the current mix") == 1  # the writer's "keep the current mix: ..." is not echoed
    assert "Keep the current mix" in _section(html_path.read_text(), "budget")
    assert "**Keep the current mix**" in md_path.read_text()


def test_plan_with_nothing_free_to_move_says_so_without_a_phantom_optimum(results_factory, undrawn_charts):
    folder = results_factory(recommended=False, omit=("decomposition.csv", "holdout_predictions.csv"))
    alloc = json.loads((folder / "optimal_allocation.json").read_text())
    alloc.update(movable_channels=[], reason="keep the current mix: no channel is free to move (held at current "
                 "spend: ['Radio', 'Search']; no recent spend, so +/-30% of it is zero: ['TV'])")
    (folder / "optimal_allocation.json").write_text(json.dumps(alloc))
    html_path, md_path = render_report(folder)
    for text in (_section(html_path.read_text(), "executive-summary"), _section(html_path.read_text(), "budget"),
                 md_path.read_text()):
        assert "No channel is free to move" in text
        assert "evidence does not back" not in text and "optimizer's best plan" not in text


def test_walk_forward_ensemble_is_scored_beside_the_final_model_when_present(results_factory, undrawn_charts):
    block = {"enabled": True, "members": 24, "holdout_metrics": {"r2": 0.912, "mape": 0.071, "rmse": 1.47e6,
                                                                 "directional_accuracy": 0.6}}
    html_path, md_path = render_report(results_factory(summary_extra={"walk_forward_ensemble": block}))
    assert "walk-forward ensemble, final hold-out" in _section(html_path.read_text(), "walk-forward")
    assert "| walk-forward ensemble (final hold-out) | 0.91 |" in md_path.read_text()
    plain_html, plain_md = render_report(results_factory("off", summary_extra={"walk_forward_ensemble": {"enabled": False}}))
    assert "walk-forward ensemble" not in plain_md.read_text() + plain_html.read_text()


def test_real_data_is_not_flagged_simulated(results_factory, undrawn_charts):
    folder = results_factory(simulated=False, omit=("decomposition.csv", "holdout_predictions.csv",
                                                    "response_curves.json", "optimal_allocation.json"))
    html = render_report(folder)[0].read_text()
    assert "SIMULATED DATA" not in html and "real data" in _section(html, "model-card")


# --- partial and odd results folders ------------------------------------------------------


def test_summary_only_folder_renders_every_section_as_not_available(results_factory, undrawn_charts):
    folder = results_factory(omit=("channels.json", "decomposition.csv", "response_curves.json", "elasticities.json",
                                   "optimal_allocation.json", "scenarios.json", "holdout_predictions.csv"))
    html_path, md_path = render_report(folder)
    html = html_path.read_text()
    for section_id in ("decomposition", "roas", "saturation", "adstock", "budget", "simulator", "scenarios"):
        assert "Not available for this run" in _section(html, section_id), section_id
    assert "optimal_allocation.json was not produced" in _section(html, "budget")
    # the summary alone still carries price elasticities, walk-forward and diagnostics
    assert "Not available" not in _section(html, "price-elasticity")
    assert "<img" in _section(html, "walk-forward") and "<img" in _section(html, "residuals")
    assert "could not be drawn" not in html
    assert "Not available for this run: channels.json was not produced." in md_path.read_text()


def test_unreadable_optional_file_is_named_and_the_rest_renders(results_factory, undrawn_charts):
    folder = results_factory(omit=("decomposition.csv", "holdout_predictions.csv"))
    (folder / "channels.json").write_text('{"TV": {"roas": ')
    html = render_report(folder)[0].read_text()
    assert "channels.json could not be read (not valid JSON" in _section(html, "roas")
    assert "<img" in _section(html, "saturation")  # response curves still drawn without channels.json
    assert "could not be drawn" not in html


def test_empty_plan_file_reads_as_not_available(results_factory, undrawn_charts):
    folder = results_factory(omit=("decomposition.csv", "holdout_predictions.csv"))
    (folder / "optimal_allocation.json").write_text("{}")
    html = render_report(folder)[0].read_text()
    assert "optimal_allocation.json is empty" in _section(html, "budget")
    assert "optimal_allocation.json is empty" in _section(html, "executive-summary")


def test_fixture_follows_the_results_writers_schema(rendered_report):
    """The fixture must look like what mmm_pipeline.core.results writes, or these tests prove little."""
    from mmm_pipeline.core.results import ResultsPayload, validate_payload

    folder = rendered_report[0]
    read = lambda name: json.loads((folder / name).read_text())  # noqa: E731
    payload = ResultsPayload(
        summary=read("summary.json"), channels=read("channels.json"), response_curves=read("response_curves.json"),
        elasticities=read("elasticities.json"), optimal_allocation=read("optimal_allocation.json"),
        scenarios=read("scenarios.json"), decomposition=pd.read_csv(folder / "decomposition.csv"),
        holdout_predictions=pd.read_csv(folder / "holdout_predictions.csv"),
    )
    assert validate_payload(payload) == []


def test_missing_summary_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ResultsError, match=r"summary\.json not found.*run the pipeline"):
        render_report(tmp_path)
    (tmp_path / "summary.json").write_text("[1, 2")
    with pytest.raises(ResultsError, match=r"summary\.json is not valid JSON"):
        render_report(tmp_path)


def test_text_from_results_is_escaped(results_factory, undrawn_charts):
    folder = results_factory(omit=("decomposition.csv", "holdout_predictions.csv", "response_curves.json",
                                   "optimal_allocation.json", "scenarios.json", "elasticities.json"))
    channels = json.loads((folder / "channels.json").read_text())
    channels["<b>TV & co</b>"] = channels.pop("TV")
    (folder / "channels.json").write_text(json.dumps(channels))
    html_path, md_path = render_report(folder)
    html = html_path.read_text()
    assert "<b>TV & co</b>" not in html and "&lt;b&gt;TV &amp; co&lt;/b&gt;" in html


def test_pipeline_figures_land_in_their_sections(results_factory, undrawn_charts):
    folder = results_factory(omit=("channels.json", "decomposition.csv", "response_curves.json",
                                   "optimal_allocation.json", "holdout_predictions.csv"))
    figures = {"walk_forward_folds": _png(3), "residual_qq": _png(4), "team_logo": _png(5)}
    html = render_report(folder, figures=figures)[0].read_text()
    assert 'alt="walk forward folds"' in _section(html, "walk-forward")
    assert 'alt="residual qq"' in _section(html, "residuals")
    assert 'alt="team logo"' in _section(html, "additional-figures")
    with pytest.raises(ValueError, match="figure 'broken': not a PNG"):
        render_report(folder, figures={"broken": b"hello"})


# --- interpretation helpers ---------------------------------------------------------------


def test_lift_is_read_as_revenue_or_fraction_by_what_fits():
    alloc = {"revenue_current": {"mean": 1000.0}, "revenue_optimal": {"mean": 1050.0}}
    as_revenue = lift_fraction({**alloc, "lift": {"mean": 50.0, "lo": -10.0, "hi": 120.0}})
    assert as_revenue == pytest.approx({"mean": 0.05, "lo": -0.01, "hi": 0.12})
    as_fraction = lift_fraction({**alloc, "lift": {"mean": 0.05, "lo": -0.01, "hi": 0.12}})
    assert as_fraction == pytest.approx({"mean": 0.05, "lo": -0.01, "hi": 0.12})


def test_scenario_lift_pct_is_percent_unless_revenue_says_fraction():
    revenues = {"revenue": {"mean": 930.0}, "baseline_revenue": {"mean": 1000.0}}
    in_percent = {**revenues, "lift_pct": {"mean": -7.0, "lo": -9.0, "hi": -5.0}}
    in_fraction = {**revenues, "lift_pct": {"mean": -0.07, "lo": -0.09, "hi": -0.05}}
    assert scenario_lift_fraction(in_percent) == pytest.approx({"mean": -0.07, "lo": -0.09, "hi": -0.05})
    assert scenario_lift_fraction(in_fraction) == pytest.approx({"mean": -0.07, "lo": -0.09, "hi": -0.05})
    assert scenario_lift_fraction(revenues)["mean"] == pytest.approx(-0.07)
    assert scenario_lift_fraction({"lift_pct": {"mean": 4.0}})["mean"] == pytest.approx(0.04)


def test_hierarchy_and_own_price_feature_are_found_without_naming_rules(results_factory):
    folder = results_factory(omit=("holdout_predictions.csv",))
    decomposition = pd.read_csv(folder / "decomposition.csv")
    decomposition.drop(columns="category").to_csv(folder / "decomposition.csv", index=False)
    elasticities = json.loads((folder / "elasticities.json").read_text())
    elasticities["mrp_per_unit"] = elasticities.pop("list_price")  # a name without "price" first
    (folder / "elasticities.json").write_text(json.dumps(elasticities))
    inputs = load_results(folder)
    assert own_price_feature(inputs) == "mrp_per_unit"  # matched by its values
    # without summary.node_category the mapping is unknown, yet nodes are still told from categories
    assert node_categories(inputs)["Lens"] == "Lens"
    categories, leaves = price_elasticity_split(inputs)
    assert set(categories) == {"Audio", "Camera"} and set(leaves) == {"Lens", "Tripod", "Headphones", "Speakers"}
    inputs.summary["node_category"] = {"Lens": "Camera", "Tripod": "Camera", "Headphones": "Audio", "Speakers": "Audio"}
    assert node_categories(inputs)["Lens"] == "Camera"
    assert node_categories(load_results(results_factory("with_category_column")))["Tripod"] == "Camera"


def test_an_elasticity_at_its_bound_is_reported_beside_the_number(results_factory, undrawn_charts):
    folder = results_factory()
    elasticities = json.loads((folder / "elasticities.json").read_text())
    node = next(iter(elasticities["list_price"]))
    elasticities["list_price"][node].update(at_bound="upper", bounds=[-8.0, 0.0],
                                            note="at its upper bound (0): the data would go further")
    (folder / "elasticities.json").write_text(json.dumps(elasticities))
    html_path, md_path = render_report(folder)
    price = _section(html_path.read_text(), "price-elasticity")
    assert f"list_price for {node}: at its upper bound (0): the data would go further" in price
    assert "(at its upper bound (0): the data would go further)" in price  # beside the number in the full table


def test_units_and_revenue_elasticities_side_by_side_when_demand_was_fitted(results_factory, undrawn_charts):
    units = {"Audio": {"mean": -0.6, "lo": -0.7, "hi": -0.5}, "Camera": {"mean": -0.02, "lo": -0.05, "hi": 0.0,
                                                                         "note": "at its upper bound (0): the data would go further"}}
    revenue = {"Audio": {"mean": 0.4, "lo": 0.3, "hi": 0.5}, "Camera": {"mean": 0.98, "lo": 0.95, "hi": 1.0}}
    folder = results_factory(summary_extra={"price_elasticity": revenue, "price_elasticity_units": units})
    html_path, _ = render_report(folder)
    price = _section(html_path.read_text(), "price-elasticity")
    assert "units elasticity" in price and "revenue elasticity" in price
    assert "+0.40% revenue" in price and "-0.60% units" in price
    assert "own price (units) for Camera: at its upper bound (0): the data would go further" in price


def test_total_and_direct_effects_sit_side_by_side_with_the_roles_in_words(results_factory, undrawn_charts):
    role = {"item": "awareness", "role": "mediator", "sentence": "awareness is brand health, treated as a mediator"}
    folder = results_factory(summary_extra={"roles": {"awareness": role}})
    channels = json.loads((folder / "channels.json").read_text())
    for entry in channels.values():
        entry["direct_effect"] = {"roas": {"mean": 0.5, "lo": 0.3, "hi": 0.7, "width": 0.4}, "mediators": ["awareness"]}
        entry["information"] = {"prior_share": 0.62}
    (folder / "channels.json").write_text(json.dumps(channels))
    roas = _section(render_report(folder)[0].read_text(), "roas")
    assert "ROAS (total)" in roas and "ROAS (direct)" in roas
    assert "Awareness is brand health, treated as a mediator." in roas
    assert "62%" in roas
    plain = _section(render_report(results_factory("plain"))[0].read_text(), "roas")
    assert "ROAS (direct)" not in plain and "ROAS (total)" not in plain
