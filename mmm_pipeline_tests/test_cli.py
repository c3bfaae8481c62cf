"""The command line: fast help, dataset listing, clear errors, simulate and rollback."""

import json
import subprocess
import sys

from mmm_pipeline.cli import main
from mmm_pipeline.core.registry import ModelRegistry, decide_promotion


def test_help_does_not_import_torch_or_dagster():
    code = ("import sys\nfrom mmm_pipeline.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('HEAVY', sorted(m for m in ('torch', 'dagster', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "run" in out and "rollback" in out
    assert "HEAVY []" in out


def test_datasets_lists_every_config(capsys):
    assert main(["datasets"]) == 0
    listed = capsys.readouterr().out
    for name in ("retail_daily", "robyn_weekly", "pymc_example", "dtmart_monthly"):
        assert name in listed


def test_unknown_dataset_is_a_clear_error(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert main(["run", "--dataset", "no_such_dataset"]) == 2
    out = capsys.readouterr().out
    assert "no_such_dataset" in out and "retail_daily" in out
    assert "telemetry" in (tmp_path / "home" / "dagster.yaml").read_text()


def test_simulate_delegates_to_the_simulator(tmp_path):
    assert main(["simulate", "weekly", "--seed", "3", "--weeks", "60", "--out", str(tmp_path / "sim")]) == 0
    assert (tmp_path / "sim" / "truth.json").is_file()


def test_rollback_restores_the_previous_champion(tmp_path, capsys):
    registry = ModelRegistry(tmp_path / "pymc_example")
    for version in ("v1", "v2"):
        staged = registry.staging_dir(version)
        (staged / "summary.json").write_text(json.dumps({"model_version": version}))
        decision = decide_promotion(version, gate_passed=True, gate_message="", champion=registry.champion_version,
                                    month="2021-08", candidate_rmse=1.0, champion_rmse=1.0, margin=0.05)
        registry.publish(staged, decision, gate_passed=True)
    assert main(["rollback", "--dataset", "pymc_example", "--output-root", str(tmp_path)]) == 0
    assert "v2 -> v1" in capsys.readouterr().out
    assert json.loads((tmp_path / "pymc_example" / "summary.json").read_text())["model_version"] == "v1"
    assert main(["rollback", "--dataset", "pymc_example", "--output-root", str(tmp_path)]) == 1
    assert "nothing to roll back to" in capsys.readouterr().out


def test_fold_workers_get_contiguous_blocks_covering_every_month():
    from mmm_pipeline.defs.launch import split_months

    months = [f"2024-{m:02d}" for m in range(1, 11)]
    blocks = split_months(months, 3)
    assert [len(b) for b in blocks] == [4, 3, 3]
    assert sum(blocks, []) == months
    assert split_months(months[:2], 8) == [["2024-01"], ["2024-02"]]
