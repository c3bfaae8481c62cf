"""Helpers, not tests: a champion made by the pipeline itself, and a real server process for it.

``tiny_champion`` runs the whole Dagster graph on the tiny dataset of the Dagster tests (about
30 s); ``Server`` starts ``python -m mmm_pipeline serve`` on a free port of 127.0.0.1 and
stops it. ``benchmarks/serve_load.py`` uses ``Server`` too.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from mmm_pipeline.core.config import PROJECT_ROOT

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "defs"))
from tiny_dataset import write_tiny_dataset  # noqa: E402  (the Dagster tests' tiny dataset)

#: how long a server may take to load its champion and answer /health
START_SECONDS = 90


def tiny_champion(folder: Path) -> tuple[Path, Path]:
    """Run the pipeline on the tiny dataset; returns (its YAML, the output root holding ``tiny/``)."""
    import dagster as dg

    from mmm_pipeline.definitions import defs
    from mmm_pipeline.defs.partitions import FOLD_PARTITIONS, range_tags
    from mmm_pipeline.defs.resources import dataset_run_config

    yaml_path = write_tiny_dataset(folder / "dataset")
    outputs = folder / "outputs"
    run_config = dataset_run_config(str(yaml_path), str(outputs))
    with dg.instance_for_test() as instance:
        defs.resolve_job_def("prepare_data").execute_in_process(instance=instance, run_config=run_config)
        months = list(instance.get_dynamic_partitions(FOLD_PARTITIONS.name))
        defs.resolve_job_def("train_and_report").execute_in_process(instance=instance, run_config=run_config,
                                                                    tags=range_tags(months))
    return yaml_path, outputs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``python -m mmm_pipeline serve`` in a subprocess; its output goes to ``log``."""

    def __init__(self, datasets: list[str], output_root: Path | None, log: Path, api_key: str = "") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {**os.environ, "MMM_API_KEY": api_key, "OMP_NUM_THREADS": "1", "DISABLE_PANDERA_IMPORT_WARNING": "True"}
        command = [sys.executable, "-m", "mmm_pipeline", "serve", "--port", str(self.port)]
        for name in datasets:
            command += ["--dataset", name]
        if output_root is not None:
            command += ["--output-root", str(output_root)]
        with log.open("w") as sink:
            self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"the server did not answer within {START_SECONDS} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
