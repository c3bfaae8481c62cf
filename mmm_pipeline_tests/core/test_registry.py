import json
from pathlib import Path

import pytest

from mmm_pipeline.core.registry import (
    INSTALL_MARKER,
    ModelRegistry,
    RegistryError,
    decide_promotion,
    new_version,
)


def _stage(registry: ModelRegistry, version: str, marker: str) -> Path:
    staged = registry.staging_dir(version)
    (staged / "summary.json").write_text(json.dumps({"model_version": version, "marker": marker}))
    (staged / "report.html").write_text(f"<html>{marker}</html>")
    return staged


def _decide(registry: ModelRegistry, version: str, *, gate=True, cand=1.0, champ=None, margin=0.05):
    return decide_promotion(version, gate_passed=gate, gate_message="overall out-of-sample R² 0.6 is below the "
                            "minimum 0.75 by 0.15", champion=registry.champion_version, month="2021-08",
                            candidate_rmse=cand, champion_rmse=champ, margin=margin)


def _live_marker(root: Path) -> str:
    return json.loads((root / "summary.json").read_text())["marker"]


def test_first_model_passing_the_gate_becomes_champion(tmp_path):
    reg = ModelRegistry(tmp_path)
    decision = _decide(reg, "v1")
    assert decision.promoted and "first model" in decision.reason
    where = reg.publish(_stage(reg, "v1", "one"), decision, gate_passed=True, fold_rmse={"2021-08": 1.0})
    assert where == tmp_path
    assert _live_marker(tmp_path) == "one"
    assert reg.champion_version == "v1"
    assert (tmp_path / "champions" / "v1" / "summary.json").is_file()
    assert reg.record("v1").fold_rmse == {"2021-08": 1.0}


def test_model_failing_the_gate_is_kept_as_challenger_and_live_folder_untouched(tmp_path):
    reg = ModelRegistry(tmp_path)
    reg.publish(_stage(reg, "v1", "one"), _decide(reg, "v1"), gate_passed=True)
    decision = _decide(reg, "v2", gate=False, cand=0.1, champ=1.0)
    assert not decision.promoted
    assert "below the minimum 0.75 by 0.15" in decision.reason
    where = reg.publish(_stage(reg, "v2", "two"), decision, gate_passed=False)
    assert where == tmp_path / "challengers" / "v2"
    assert _live_marker(tmp_path) == "one"
    assert reg.champion_version == "v1"
    assert reg.record("v2").status == "challenger"


@pytest.mark.parametrize(("cand", "promoted"), [(1.04, True), (1.06, False), (0.5, True)])
def test_candidate_may_be_worse_than_champion_only_within_the_margin(tmp_path, cand, promoted):
    reg = ModelRegistry(tmp_path)
    reg.publish(_stage(reg, "v1", "one"), _decide(reg, "v1"), gate_passed=True)
    decision = _decide(reg, "v2", cand=cand, champ=1.0, margin=0.05)
    assert decision.promoted is promoted
    if not promoted:
        assert "6.0% worse than champion v1" in decision.reason and "margin is 5.0%" in decision.reason
    reg.publish(_stage(reg, "v2", "two"), decision, gate_passed=True)
    assert _live_marker(tmp_path) == ("two" if promoted else "one")


def test_unscored_champion_leaves_the_decision_to_the_gate_and_says_so(tmp_path):
    reg = ModelRegistry(tmp_path)
    reg.publish(_stage(reg, "v1", "one"), _decide(reg, "v1"), gate_passed=True)
    decision = decide_promotion("v2", gate_passed=True, gate_message="", champion="v1", month="2021-08",
                                candidate_rmse=2.0, champion_rmse=None, margin=0.05,
                                champion_unscored_reason="its features differ from the data's")
    assert decision.promoted
    assert "gate alone" in decision.reason and "features differ" in decision.reason


def test_rollback_restores_previous_champion_files(tmp_path):
    reg = ModelRegistry(tmp_path)
    reg.publish(_stage(reg, "v1", "one"), _decide(reg, "v1"), gate_passed=True)
    staged = _stage(reg, "v2", "two")
    (staged / "extra.csv").write_text("only in v2")
    reg.publish(staged, _decide(reg, "v2", cand=1.0, champ=1.0), gate_passed=True)
    assert _live_marker(tmp_path) == "two" and (tmp_path / "extra.csv").exists()

    restored = reg.rollback()
    assert restored.version == "v1" and restored.status == "champion"
    assert _live_marker(tmp_path) == "one"
    assert (tmp_path / "report.html").read_text() == "<html>one</html>"
    assert not (tmp_path / "extra.csv").exists(), "files of the rolled-back version must not linger"
    assert reg.record("v2").status == "rolled_back"
    with pytest.raises(RegistryError, match="nothing to roll back to"):
        reg.rollback()


def test_publish_refuses_incomplete_results(tmp_path):
    reg = ModelRegistry(tmp_path)
    staged = reg.staging_dir("v1")
    (staged / "report.html").write_text("x")
    with pytest.raises(RegistryError, match="no summary.json"):
        reg.publish(staged, _decide(reg, "v1"), gate_passed=True)
    assert reg.champion_version is None and not (tmp_path / "report.html").exists()


def test_promotion_decided_against_a_stale_champion_is_refused(tmp_path):
    reg = ModelRegistry(tmp_path)
    stale = _decide(reg, "v2")  # decided while there was no champion
    reg.publish(_stage(reg, "v1", "one"), _decide(reg, "v1"), gate_passed=True)
    with pytest.raises(RegistryError, match="champion changed"):
        reg.publish(_stage(reg, "v2", "two"), stale, gate_passed=True)
    assert _live_marker(tmp_path) == "one"


def test_interrupted_install_is_completed_on_next_open(tmp_path):
    reg = ModelRegistry(tmp_path)
    reg.publish(_stage(reg, "v1", "one"), _decide(reg, "v1"), gate_passed=True)
    reg.publish(_stage(reg, "v2", "two"), _decide(reg, "v2", champ=1.0), gate_passed=True)
    # simulate a crash half-way through rolling back to v1: marker written, files not yet copied
    state = json.loads((tmp_path / "registry.json").read_text())
    state.update(champion="v1", promotions=["v1"])
    (tmp_path / INSTALL_MARKER).write_text(json.dumps({"source": "champions/v1", "state": state}))
    reopened = ModelRegistry(tmp_path)
    assert reopened.champion_version == "v1"
    assert _live_marker(tmp_path) == "one"
    assert not (tmp_path / INSTALL_MARKER).exists()


def test_versions_sort_by_time_and_are_unique():
    from datetime import datetime, timezone

    early = new_version("aaaaaaaa-1", datetime(2026, 1, 1, tzinfo=timezone.utc))
    late = new_version("bbbbbbbb-2", datetime(2026, 2, 1, tzinfo=timezone.utc))
    assert early < late and early.startswith("v20260101")
    assert new_version() != new_version()


def test_a_version_is_published_once_and_points_at_its_checkpoint(tmp_path):
    reg = ModelRegistry(tmp_path)
    reg.publish(_stage(reg, "r1", "one"), _decide(reg, "r1"), gate_passed=True, model_version="m1")
    assert reg.record("r1").model_dir == "models/m1"
    with pytest.raises(RegistryError, match="already in"):
        reg.publish(_stage(reg, "r1", "again"), _decide(reg, "r1", gate=False), gate_passed=False)
    assert _live_marker(tmp_path) == "one"
