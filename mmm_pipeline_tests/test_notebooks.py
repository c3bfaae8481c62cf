"""The tutorial notebooks run top to bottom on the shipped data, and are kept in git without outputs."""

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from mmm_pipeline.core.config import PROJECT_ROOT

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_four_to_six_notebooks_stored_without_outputs():
    assert 4 <= len(NOTEBOOKS) <= 6
    for path in NOTEBOOKS:
        cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        stale = [i for i, c in enumerate(cells) if c.outputs or c.execution_count is not None]
        assert not stale, f"{path.name}: code cells {stale} carry outputs; strip them before committing"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path):
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    print(f"{path.name}: {time.perf_counter() - started:.0f} s")
