"""The HTTP service as a client sees it: a real ``python -m mmm_pipeline serve`` process on
127.0.0.1 serving a champion the pipeline made (tiny dataset), every endpoint, the API key,
validation that names the field, unknown datasets, limits, and a promotion picked up without
a restart."""

import json
import shutil

import httpx
import numpy as np
import pytest
from served import Server, tiny_champion

import mmm_pipeline
from mmm_pipeline.api import OptimizerTimeout
from mmm_pipeline.core.registry import ModelRegistry, PromotionDecision

KEY = "test-key-7f3a"
AUTH = {"X-API-Key": KEY}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served")
    yaml_path, outputs = tiny_champion(folder)
    server = Server([str(yaml_path)], outputs, folder / "server.log", api_key=KEY)
    client = httpx.Client(base_url=server.url, headers=AUTH, timeout=60.0)
    try:
        yield server, client, yaml_path, outputs
    finally:
        client.close()
        server.stop()


def _post(client: httpx.Client, path: str, body: dict) -> httpx.Response:
    return client.post(f"/datasets/tiny/{path}", json=body)


def test_read_endpoints_answer_from_the_champion_results(served):
    server, client, _, outputs = served
    assert httpx.get(f"{server.url}/health").json()["status"] == "ok"
    listing = client.get("/datasets").json()
    champion = ModelRegistry(outputs / "tiny").champion_version
    assert listing == [{"name": "tiny", "title": listing[0]["title"], "frequency": "weekly", "champion": champion}]
    info = client.get("/datasets/tiny/model").json()
    assert info["version"] == champion and info["gate"]["passed"] is True
    assert set(info["training_window"]) == {"start", "end"} and info["not_identified"] == []
    assert info["replicates"] == 4, "served from the stored bootstrap replicates"
    channels = client.get("/datasets/tiny/channels").json()
    assert channels == json.loads((outputs / "tiny" / "channels.json").read_text())
    assert all(c["roas"]["lo"] <= c["roas"]["mean"] <= c["roas"]["hi"] for c in channels.values())
    curves = client.get("/datasets/tiny/response-curves").json()
    assert set(curves) == {"x1", "x2"} and len(curves["x1"]["spend"]) == len(curves["x1"]["mean"])
    assert set(client.get("/datasets/tiny/elasticities").json()["by_feature"]) >= {"x1", "x2"}
    schema = httpx.get(f"{server.url}/openapi.json").json()
    assert {"/datasets/{name}/predict", "/datasets/{name}/optimize", "/datasets/{name}/scenarios"} <= set(schema["paths"])
    assert httpx.get(f"{server.url}/docs").status_code == 200


def test_predict_adds_up_and_more_spend_on_a_channel_earns_more(served):
    _, client, _, _ = served
    base = _post(client, "predict", {"periods": 6}).json()
    assert base["periods"] == 6 and len(base["per_period"]) == 6
    assert base["revenue"]["lo"] <= base["revenue"]["mean"] <= base["revenue"]["hi"]
    total = sum(base["decomposition"].values())
    assert total == pytest.approx(base["revenue"]["mean"], rel=1e-9), "base + drivers == the prediction"
    per_period = base["spend"]["x1"] / 6
    more = _post(client, "predict", {"periods": 6, "spend": {"x1": 2 * per_period + 1.0}}).json()
    assert more["decomposition"]["x1"] > base["decomposition"]["x1"]
    assert more["decomposition"]["x2"] == pytest.approx(base["decomposition"]["x2"])
    listed = _post(client, "predict", {"spend": {"x2": [0.0, 0.0, 0.0]}}).json()
    assert listed["periods"] == 3 and listed["decomposition"]["x2"] < base["decomposition"]["x2"]


def test_optimize_with_no_question_plans_the_current_budget(served):
    _, client, _, _ = served
    plan = _post(client, "optimize", {}).json()
    assert 0.0 <= plan["probability_beats_current"] <= 1.0
    spent = sum(row["optimal"] for row in plan["channels"].values())
    current = sum(row["current"] for row in plan["channels"].values())
    assert spent == pytest.approx(current, rel=1e-6) == pytest.approx(plan["total_budget"], rel=1e-6)
    smaller = _post(client, "optimize", {"total_budget": 0.8 * current, "objective": "mean"}).json()
    assert sum(r["optimal"] for r in smaller["channels"].values()) == pytest.approx(0.8 * current, rel=1e-6)
    assert smaller["objective"] == "mean"


def test_scenarios_by_name_and_ad_hoc(served):
    _, client, _, outputs = served
    stored = json.loads((outputs / "tiny" / "scenarios.json").read_text())
    named = _post(client, "scenarios", {"names": [stored[0]["name"]]}).json()
    assert named == stored[:1]
    dark = _post(client, "scenarios", {"scenarios": [{"name": "x1_dark", "channels": {"x1": 0.0}}]}).json()
    assert dark[0]["source"] == "request" and dark[0]["lift"]["hi"] < 0, "switching x1 off loses revenue"


def test_api_key_is_required_and_never_logged(served):
    server, _, _, _ = served
    assert httpx.get(f"{server.url}/datasets/tiny/channels").status_code == 401
    wrong = httpx.get(f"{server.url}/datasets/tiny/channels", headers={"X-API-Key": "nope"})
    assert wrong.status_code == 401 and "X-API-Key" in wrong.json()["error"]
    assert httpx.post(f"{server.url}/datasets/tiny/optimize", json={}).status_code == 401
    assert KEY not in server.log.read_text()


@pytest.mark.parametrize(("path", "body", "field", "allowed"), [
    ("optimize", {"objective": "best"}, "objective", ["conservative", "mean", "point"]),
    ("optimize", {"total_budjet": 5}, "total_budjet", None),
    ("optimize", {"locked": ["tv"]}, "locked", None),
    ("predict", {"spend": {"tv": 1.0}}, "spend.tv", ["x1", "x2"]),
    ("predict", {"periods": 0}, "periods", []),
    ("scenarios", {"names": ["no_such"]}, "names", None),
])
def test_bad_requests_get_422_naming_the_field(served, path, body, field, allowed):
    _, client, _, _ = served
    answer = _post(client, path, body)
    assert answer.status_code == 422
    assert answer.json()["field"] == field and answer.json()["error"].startswith(f"{field}:")
    if allowed is not None:
        assert answer.json()["allowed"] == allowed


def test_unknown_dataset_oversized_body_and_no_stack_traces(served):
    _, client, _, _ = served
    missing = client.get("/datasets/retail_weekly_nope/channels")
    assert missing.status_code == 404 and "tiny" in missing.json()["error"]
    huge = client.post("/datasets/tiny/predict", content=b'{"spend": {"x1": [' + b"1," * 40000 + b"1]}}",
                       headers={"content-type": "application/json"})
    assert huge.status_code == 413
    broken = client.post("/datasets/tiny/predict", content=b"{", headers={"content-type": "application/json"})
    assert broken.status_code == 422 and "Traceback" not in broken.text


def test_a_promotion_is_served_without_restart_and_a_broken_one_fails_cleanly(served, tmp_path):
    _, client, _, outputs = served
    registry = ModelRegistry(outputs / "tiny")
    before = registry.champion()
    assert client.get("/datasets/tiny/model").json()["version"] == before.version

    def promote(version: str, model_version: str) -> None:
        staged = tmp_path / version
        shutil.copytree(registry.root / before.results_dir, staged)
        decision = PromotionDecision(True, "promoted: test", version, previous_champion=registry.champion_version)
        registry.publish(staged, decision, gate_passed=True, model_version=model_version)

    promote("v29990101T000000Z-newchamp", before.model_dir.split("/")[-1])
    assert client.get("/datasets/tiny/model").json()["version"] == "v29990101T000000Z-newchamp"
    promote("v29990102T000000Z-nomodel", "v29990102T000000Z-nomodel")  # its checkpoint is missing
    crashed = client.get("/datasets/tiny/channels")
    assert crashed.status_code == 500 and "Traceback" not in crashed.text and "error" in crashed.json()
    registry.rollback()
    assert client.get("/datasets/tiny/model").json()["version"] == "v29990101T000000Z-newchamp"


def test_python_api_is_the_same_code_path_and_the_optimizer_stops_at_its_limit(served):
    _, client, yaml_path, outputs = served
    model = mmm_pipeline.load(str(yaml_path), outputs)
    plan = {"periods": 4, "spend": {"x1": [0.1, 0.2, 0.3, 0.4]}}
    direct = model.predict(plan)
    over_http = _post(client, "predict", plan).json()
    assert np.allclose([direct["revenue"][k] for k in ("mean", "lo", "hi")],
                       [over_http["revenue"][k] for k in ("mean", "lo", "hi")])
    with pytest.raises(OptimizerTimeout, match="limit"):
        model.optimize(time_limit=1e-9)
