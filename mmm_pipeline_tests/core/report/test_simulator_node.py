"""The in-page budget simulator's arithmetic, run by Node.js on the script and data inlined in report.html.

The browser test (test_report_browser.py) needs Chromium; this one needs only ``node``. It
drives the page's own script through a small stand-in for the page (simulator_harness.js)
and compares what the page shows with the same arithmetic done here in Python on the
exported response curves and with the toy model's true Hill curves they were drawn from:
each channel's steady-state effect, plan revenue phased in through the adstock weights over
the horizon, the lift over the current plan, the locked-total rebalancing and the
saturation warning.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from page_text import page_amount

NODE = shutil.which("node")
HARNESS = Path(__file__).with_name("simulator_harness.js")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed (apt-get install -y nodejs)")
#: the page shows three significant digits
SHOWN = 5e-3


@pytest.fixture(scope="module")
def true_curves(rendered_report) -> dict[str, dict[str, float]]:
    """The toy model's Hill parameters per channel (half, slope, top), from channels.json."""
    channels = json.loads((rendered_report[0] / "channels.json").read_text())
    return {name: entry["saturation"]["params"] for name, entry in channels.items()}


@pytest.fixture(scope="module")
def page(rendered_report) -> tuple[dict, str]:
    """(simulator data, simulator script) exactly as inlined in the rendered report.html."""
    html = rendered_report[1].read_text()
    payload = re.search(r'<script type="application/json" id="simulator-data">(.*?)</script>', html, re.S)
    script = re.search(r"<script>\n(.*?)\n</script>", html, re.S)
    assert payload and script, "report.html lacks the simulator data or script"
    return json.loads(payload.group(1)), script.group(1)


def run_page(page: tuple[dict, str], actions: list[dict]) -> list[dict]:
    """What the page shows before and after each action."""
    payload, script = page
    request = json.dumps({"payload": payload, "script": script, "actions": actions})
    done = subprocess.run([NODE, str(HARNESS)], input=request, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def plan_revenue(payload: dict, plan: dict[str, float]) -> float:
    """Base x horizon + each channel's curve at spend phased in by its cumulative adstock weights."""
    horizon = payload["horizon"]
    total = payload["base_per_period"] * horizon
    for ch in payload["channels"]:
        weights = np.zeros(horizon)
        weights[: min(horizon, len(ch["weights"]))] = ch["weights"][:horizon]
        share = np.minimum(np.cumsum(weights), 1.0)
        level = share * plan[ch["name"]] + (1 - share) * ch["current"]
        total += float(np.interp(level, ch["spend"], ch["mean"]).sum())
    return total


def current_plan(payload: dict) -> dict[str, float]:
    return {ch["name"]: ch["current"] for ch in payload["channels"]}


def test_each_channels_effect_is_its_response_curve_at_the_slider_spend(page, true_curves):
    payload, _ = page
    curves = {ch["name"]: ch for ch in payload["channels"]}
    moves = {name: 1.13 * ch["current"] for name, ch in curves.items()}  # between the curve's grid points
    shown = run_page(page, [{"slider": name, "value": spend} for name, spend in moves.items()])[-1]["rows"]
    for name, spend in moves.items():
        effect = page_amount(shown[name]["effect_text"])
        assert shown[name]["spend"] == pytest.approx(spend)
        exported = float(np.interp(spend, curves[name]["spend"], curves[name]["mean"]))
        assert effect == pytest.approx(exported, rel=SHOWN), name
        p = true_curves[name]
        true = p["top"] * spend ** p["slope"] / (spend ** p["slope"] + p["half"] ** p["slope"])
        assert effect == pytest.approx(true, rel=0.02), name  # the exported curve's grid is coarse


def test_plan_revenue_and_lift_follow_the_curves_phased_in_over_the_horizon(page):
    payload, _ = page
    plan = current_plan(payload)
    plan.update({"TV": 1.4 * plan["TV"], "Search": 0.6 * plan["Search"]})
    before, _tv, after = run_page(page, [{"slider": "TV", "value": plan["TV"]},
                                         {"slider": "Search", "value": plan["Search"]}])
    at_current = plan_revenue(payload, current_plan(payload))
    lift = plan_revenue(payload, plan) - at_current
    assert page_amount(before["revenue"]) == pytest.approx(at_current, rel=SHOWN)
    assert before["lift"].startswith("0")
    assert page_amount(after["revenue"]) == pytest.approx(at_current + lift, rel=SHOWN)
    sign = "+" if lift > 0 else "\u2212"
    assert after["lift"].startswith(sign) and abs(page_amount(after["lift"][1:])) == pytest.approx(abs(lift), rel=SHOWN)
    percent = float(re.search(r"\(.([\d.]+)%\)", after["lift"]).group(1))
    assert percent == pytest.approx(100 * abs(lift) / at_current, abs=0.05)
    optimal = {ch["name"]: ch["optimal"] for ch in payload["channels"]}
    best = run_page(page, [{"click": "sim-optimal"}])[-1]
    assert page_amount(best["revenue"]) == pytest.approx(plan_revenue(payload, optimal), rel=SHOWN)


def test_locked_total_moves_the_other_channels_in_proportion(page):
    payload, _ = page
    current = current_plan(payload)
    total = sum(current.values())
    raised = 1.5 * current["Search"]
    shown = run_page(page, [{"lock": True}, {"slider": "Search", "value": raised}])[-1]["rows"]
    spend = {name: row["spend"] for name, row in shown.items()}
    assert sum(spend.values()) == pytest.approx(total, rel=1e-9)
    assert spend["Search"] == pytest.approx(raised)
    others = [name for name in current if name != "Search"]
    scale = (total - raised) / sum(current[name] for name in others)
    for name in others:
        assert spend[name] == pytest.approx(scale * current[name], rel=1e-9), name


def test_saturation_warning_names_the_channel_and_its_share_of_the_saturation_spend(page):
    payload, _ = page
    tv = next(ch for ch in payload["channels"] if ch["name"] == "TV")
    below, above = 0.75 * tv["saturation_spend"], 0.95 * tv["saturation_spend"]
    _start, calm, warned = run_page(page, [{"slider": "TV", "value": below}, {"slider": "TV", "value": above}])
    assert not any(w.startswith("TV:") for w in calm["warnings"]) and not calm["rows"]["TV"]["saturated"]
    assert "TV: spend is at 95% of its saturation point; extra spend there buys little." in warned["warnings"]
    assert warned["rows"]["TV"]["saturated"]


def test_a_category_price_slider_moves_its_revenue_by_the_revenue_elasticity(page):
    payload, _ = page
    assert payload["prices"], "the fixture has categories with revenue price elasticities"
    price = payload["prices"][0]
    before, after, back = run_page(page, [{"price": price["category"], "value": 0.1}, {"click": "sim-current"}])
    assert after["prices"][price["category"]]["change"] == pytest.approx(0.1)
    expected = price["revenue_per_period"] * payload["horizon"] * (1.1 ** price["elasticity"] - 1)
    revenue_before = plan_revenue(payload, current_plan(payload))
    assert page_amount(after["revenue"]) == pytest.approx(revenue_before + expected, rel=SHOWN)
    shown = after["prices"][price["category"]]["effect_text"]
    assert f"{abs(100 * (1.1 ** price['elasticity'] - 1)):.1f}%" in shown
    assert back["prices"][price["category"]]["change"] == 0 and back["revenue"] == before["revenue"]
