"""Regenerate the README's pictures from the default run, so they show what the first command makes.

- ``docs/report_screenshot.png``: ``outputs/retail_daily/report.html`` opened from disk in
  headless Chromium (offline, as a reader would open it).
- ``docs/asset_graph.png``: the Dagster UI's lineage of ``mmm_report``, from a webserver on a
  free local port that reads ``$DAGSTER_HOME`` (so the runs of the first command show).

Run after the README's first command, from the repository root::

    DAGSTER_HOME=$PWD/.dagster_home .venv/bin/python docs/screenshots.py

Needs Chromium at /usr/bin/chromium (``apt-get install -y chromium``) and the playwright
package (in the ``test`` extras). Prints the files it wrote.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
# flags from ../shared/RECIPES.md: headless, no sandbox (root), nothing that phones home
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1360, "height": 1500}
GRAPH_VIEWPORT = {"width": 1600, "height": 1600}
#: the lineage graph is the page's largest SVG (its class names are generated, so not a selector)
LARGEST_SVG = """() => {
  const boxes = [...document.querySelectorAll("svg")].map(e => e.getBoundingClientRect());
  const r = boxes.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
  return {x: r.x, y: r.y, width: r.width, height: r.height};
}"""
WEBSERVER_START_S = 120


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="retail_daily", help="results folder under outputs/ (default retail_daily)")
    parser.add_argument("--only", choices=["report", "graph"], help="make one picture only")
    args = parser.parse_args()
    problem = missing_prerequisite(args.dataset, args.only)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        if args.only in (None, "report"):
            print(report_screenshot(browser, ROOT / "outputs" / args.dataset / "report.html"))
        if args.only in (None, "graph"):
            print(asset_graph_screenshot(browser))
        browser.close()
    return 0


def missing_prerequisite(dataset: str, only: str | None) -> str:
    """What to do first, in words, or "" when everything is there."""
    report = ROOT / "outputs" / dataset / "report.html"
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM}: run `apt-get install -y chromium` first."
    if only != "graph" and not report.is_file():
        return (f"{report.relative_to(ROOT)} does not exist: run the pipeline first "
                f"(DAGSTER_HOME=$PWD/.dagster_home .venv/bin/python -m mmm_pipeline run --dataset {dataset}).")
    if not os.environ.get("DAGSTER_HOME"):
        return "DAGSTER_HOME is not set: set it to the folder the pipeline run used (e.g. DAGSTER_HOME=$PWD/.dagster_home)."
    return ""


def report_screenshot(browser, html: Path) -> Path:
    """The top of the report (header, executive summary) at a laptop-wide viewport."""
    target = ROOT / "docs" / "report_screenshot.png"
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(html.as_uri(), wait_until="load")
    page.screenshot(path=str(target), full_page=False)
    page.close()
    return target


def asset_graph_screenshot(browser) -> Path:
    """The UI's upstream lineage of mmm_report, with the materializations of the runs in DAGSTER_HOME."""
    target = ROOT / "docs" / "asset_graph.png"
    home = Path(os.environ["DAGSTER_HOME"])
    nux = home / ".nux" / "nux.yaml"  # without it the UI opens a "Join the Dagster community" dialog
    nux.parent.mkdir(parents=True, exist_ok=True)
    nux.write_text("seen: 1\n")
    port = free_port()
    server = subprocess.Popen(
        ["env", "--default-signal=INT,TERM", str(Path(sys.executable).with_name("dagster-webserver")),
         "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/server_info", server)
        page = browser.new_page(viewport=GRAPH_VIEWPORT)
        page.goto(f"{base}/assets/mmm_report?view=lineage&lineageScope=upstream&lineageDepth=20", wait_until="load")
        page.wait_for_selector("text=mmm_report", timeout=60_000)
        page.wait_for_timeout(5_000)  # the graph lays itself out and zooms to fit after the first paint
        page.screenshot(path=str(target), clip=inside(page.evaluate(LARGEST_SVG), GRAPH_VIEWPORT))
        page.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return target


def inside(box: dict, viewport: dict) -> dict:
    """The graph's box cut to the viewport (the picture holds the graph, none of the UI around it)."""
    right = min(box["x"] + box["width"], viewport["width"])
    bottom = min(box["y"] + box["height"], viewport["height"])
    return {"x": box["x"], "y": box["y"], "width": right - box["x"], "height": bottom - box["y"]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, server: subprocess.Popen) -> None:
    """Until the webserver answers (it loads the code location first), or say why not."""
    deadline = time.monotonic() + WEBSERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"dagster-webserver exited with code {server.returncode} before answering on {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise RuntimeError(f"dagster-webserver did not answer on {url} within {WEBSERVER_START_S} s")


if __name__ == "__main__":
    sys.exit(main())
