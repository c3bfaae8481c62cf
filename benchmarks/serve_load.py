"""Bounded local load test of the HTTP service: throughput and latency per endpoint.

Starts ``python -m mmm_pipeline serve`` for one dataset on a free port of 127.0.0.1 (torch on
one thread), then sends a fixed number of requests per endpoint from ``--clients`` concurrent
clients and stops by itself. Prints, per endpoint: requests, errors, throughput and the
p50 / p95 / max latency, against the targets of issue 17 (read endpoints p95 <= 50 ms,
optimize p95 <= 2 s). The dataset must have a champion: run the pipeline on it first.

    .venv/bin/python benchmarks/serve_load.py [--dataset retail_daily] [--output-root DIR]
        [--requests 200] [--optimize-requests 20] [--clients 4]
"""

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "mmm_pipeline_tests" / "api"))
from served import Server  # noqa: E402  (the tests' server process helper)

TARGET_MS = {"channels": 50.0, "predict": None, "optimize": 2000.0}


def _timed(client: httpx.Client, method: str, path: str, body: dict | None) -> tuple[float, bool]:
    started = time.perf_counter()
    answer = client.request(method, path, json=body)
    return 1000.0 * (time.perf_counter() - started), answer.status_code == 200


def _load(url: str, method: str, path: str, body: dict | None, requests: int, clients: int) -> dict:
    """Send ``requests`` requests from ``clients`` threads; latency in ms and wall-clock throughput."""
    with httpx.Client(base_url=url, timeout=120.0) as client:
        _timed(client, method, path, body)  # warm-up, not counted
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(lambda _: _timed(client, method, path, body), range(requests)))
        wall = time.perf_counter() - started
    latencies = sorted(ms for ms, _ in results)
    return {"requests": requests, "errors": sum(not ok for _, ok in results), "per_s": requests / wall,
            "p50": statistics.median(latencies), "p95": latencies[max(0, int(round(0.95 * len(latencies))) - 1)],
            "max": latencies[-1]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="retail_daily", help="dataset name or YAML path (needs a champion)")
    parser.add_argument("--output-root", default=None, help="folder holding <dataset>/ (default: the settings)")
    parser.add_argument("--requests", type=int, default=200, help="requests per read or predict endpoint")
    parser.add_argument("--optimize-requests", type=int, default=20, help="optimize requests")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    args = parser.parse_args()
    log = Path("/tmp") / f"serve_load_{time.strftime('%Y%m%dT%H%M%S')}.log"
    server = Server([args.dataset], Path(args.output_root) if args.output_root else None, log)
    try:
        with httpx.Client(base_url=server.url, timeout=120.0) as client:
            listing = client.get("/datasets").json()
            name = listing[0]["name"]
            info = client.get(f"/datasets/{name}/model")
            if info.status_code != 200:
                print(f"{name}: {info.json()['error']}")
                return 1
            info = info.json()
        base = f"/datasets/{name}"
        endpoints = {
            "channels": ("GET", f"{base}/channels", None, args.requests),
            "predict": ("POST", f"{base}/predict", {}, args.requests),
            "optimize": ("POST", f"{base}/optimize", {}, args.optimize_requests),
        }
        print(f"dataset {name}, champion {info['version']}, {info['replicates']} replicates "
              f"({info['frequency']}); {args.clients} clients; server log {log}")
        print(f"{'endpoint':<10} {'requests':>8} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
              f"{'max ms':>8}  target p95")
        for label, (method, path, body, n) in endpoints.items():
            row = _load(server.url, method, path, body, n, args.clients)
            target = TARGET_MS[label]
            verdict = "-" if target is None else f"<= {target:g} ms: {'met' if row['p95'] <= target else 'MISSED'}"
            print(f"{label:<10} {row['requests']:>8} {row['errors']:>6} {row['per_s']:>8.1f} {row['p50']:>8.1f} "
                  f"{row['p95']:>8.1f} {row['max']:>8.1f}  {verdict}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
