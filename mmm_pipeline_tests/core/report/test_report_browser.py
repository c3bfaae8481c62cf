"""The report in a real browser: headless Chromium opens report.html from disk, offline.

Proves what string checks cannot: the inlined script runs without errors, every chart
decodes, the page makes no network request, and the budget simulator reacts to a slider.
Skipped where Chromium is not installed at /usr/bin/chromium (``apt-get install -y chromium``;
.ci/run does it); the simulator's arithmetic is also tested without a browser in
test_simulator_node.py. Set MMM_REPORT_SCREENSHOT=<path> to keep a screenshot of the test
fixture's report (the README's pictures come from the default run: docs/screenshots.py).
"""

import os
from pathlib import Path

import pytest

from mmm_pipeline.core.report.sections import SECTIONS
from page_text import page_amount

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not installed at /usr/bin/chromium"),
]


@pytest.fixture
def report_page(rendered_report, tmp_path):
    """The rendered report open in Chromium, with console errors and requests recorded."""
    _folder, html_path, _md = rendered_report
    problems: list[str] = []
    requests: list[str] = []

    def console(msg) -> None:
        if msg.type == "error":
            problems.append(f"console error: {msg.text}")

    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.on("console", console)
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on("request", lambda req: requests.append(req.url))
        page.goto(html_path.as_uri(), wait_until="load")
        yield page, problems, requests
        browser.close()


def test_report_opens_offline_and_every_section_is_visible(report_page):
    page, problems, requests = report_page
    for section_id, _title, _build in SECTIONS:
        if section_id == "additional-figures":
            continue
        heading = page.locator(f"section#{section_id} > h2")
        assert heading.count() == 1, f"section {section_id} missing"
        heading.scroll_into_view_if_needed()
        assert heading.is_visible(), section_id
    broken = page.evaluate("[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length")
    assert broken == 0, f"{broken} images failed to decode"
    assert page.evaluate("document.images.length") >= 12
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert problems == []


def test_moving_a_slider_changes_predicted_revenue(report_page, tmp_path):
    page, problems, _requests = report_page
    page.locator("#simulator").scroll_into_view_if_needed()
    before = page_amount(page.inner_text("#sim-revenue"))
    assert page.inner_text("#sim-lift").startswith("0")
    tv = page.locator('input[type=range][data-channel="TV"]')
    tv.focus()
    for _ in range(20):  # a person nudging the slider with the arrow keys
        page.keyboard.press("ArrowRight")
    after = page_amount(page.inner_text("#sim-revenue"))
    lift = page.inner_text("#sim-lift")
    assert after > before, (before, after)  # TV's marginal ROAS is above 1 in the fixture
    assert lift.startswith("+") and page_amount(lift) == pytest.approx(after - before, abs=0.01 * before)

    page.keyboard.press("End")  # past 80% of TV's saturation spend
    assert "TV: spend is at" in page.inner_text("#sim-warnings")
    assert "saturated" in page.get_attribute('.sim-row[data-channel="TV"]', "class")

    page.click("#sim-current")
    assert page_amount(page.inner_text("#sim-revenue")) == pytest.approx(before, rel=1e-3)
    _save_screenshot(page, tmp_path)
    assert problems == []


def test_locked_total_keeps_the_budget_while_the_mix_moves(report_page):
    page, problems, _requests = report_page
    total_before = page.inner_text("#sim-total")
    page.check("#sim-lock")
    search = page.locator('input[type=range][data-channel="Search"]')
    search.focus()
    for _ in range(15):
        page.keyboard.press("ArrowRight")
    assert page.inner_text("#sim-total") == total_before
    tv_spend = page.inner_text('.sim-row[data-channel="TV"] .sim-spend')
    assert page_amount(tv_spend) < 40_000  # the other channels gave up budget to Search
    page.click("#sim-optimal")  # the optimal plan in the fixture keeps the same total
    assert page.inner_text("#sim-total") == total_before
    assert page.inner_text("#sim-lift").startswith("+")
    assert problems == []


def _save_screenshot(page, tmp_path: Path) -> None:
    """Keep a screenshot of the top of the report and the simulator for people (and docs)."""
    target = Path(os.environ.get("MMM_REPORT_SCREENSHOT", tmp_path / "report_screenshot.png"))
    page.set_viewport_size({"width": 1360, "height": 1500})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(target), full_page=False)
    assert target.stat().st_size > 10_000
