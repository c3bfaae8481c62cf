"""The HTTP service: ``python -m mmm_pipeline serve`` (FastAPI on uvicorn).

FastAPI because its request models are the validation and the OpenAPI schema at once (one
definition, docs at ``/docs``), and uvicorn is already installed with the Dagster webserver.
Every answer comes from :mod:`mmm_pipeline.api.model`, the same facade a notebook uses.

- Champions load once and are reloaded when ``registry.json`` changes (a promotion or a
  rollback rewrites it), checked on each request - a stat call - so no restart is needed.
- ``MMM_API_KEY`` set: every dataset endpoint needs it in ``X-API-Key`` (401 otherwise),
  compared in constant time and never logged. ``/health`` and the docs stay open.
- Errors are JSON ``{"error": sentence}``: 404 for an unknown dataset or one without a
  champion, 422 naming the field and its allowed values, 413 for a body over
  ``serve.max_request_bytes``, 503 when the optimizer passes ``serve.optimize_seconds``,
  500 without a stack trace (that goes to the server log).
"""

import hmac
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mmm_pipeline import __version__
from mmm_pipeline.api.errors import RequestError
from mmm_pipeline.api.model import ChampionModel, OptimizerTimeout
from mmm_pipeline.api.schemas import OptimizeRequest, PredictRequest, ScenariosRequest, UnknownField
from mmm_pipeline.api.store import NotFound, champion_version, dataset_config, load_champion, registry_stamp, results_root
from mmm_pipeline.core.config import ConfigError, DatasetConfig, list_datasets, load_defaults
from mmm_pipeline.core.results import to_jsonable
from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

API_KEY_ENV = "MMM_API_KEY"
API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description=f"required when {API_KEY_ENV} is set")


@dataclass
class _Slot:
    config: DatasetConfig
    root: Path
    lock: threading.Lock
    model: ChampionModel | None = None
    stamp: tuple[int, int] | None = None


class Champions:
    """The served datasets and their loaded champions, reloaded when the registry changes."""

    def __init__(self, datasets: list[str] | None, output_root: str | None) -> None:
        self.slots: dict[str, _Slot] = {}
        for ref in datasets or list_datasets():
            try:
                config = dataset_config(ref)
            except ConfigError as exc:
                log.warning("not serving %s: its configuration is invalid (%s)", ref, str(exc).splitlines()[0])
                continue
            self.slots[config.name] = _Slot(config, results_root(config, output_root), threading.Lock())

    def slot(self, name: str) -> _Slot:
        if name not in self.slots:
            raise NotFound(f"no dataset '{name}'; the datasets served are {join_names(sorted(self.slots))}")
        return self.slots[name]

    def get(self, name: str) -> ChampionModel:
        """The dataset's champion, loaded now if the registry changed since the last load."""
        slot = self.slot(name)
        stamp = registry_stamp(slot.root)
        if slot.model is not None and stamp == slot.stamp:
            return slot.model
        with slot.lock:
            if slot.model is None or stamp != slot.stamp:
                before = slot.model.version if slot.model else None
                if before is None or champion_version(slot.root) != before:  # not a challenger's record
                    slot.model = ChampionModel(load_champion(slot.config, slot.root))
                    log.info("%s: serving champion %s (before: %s)", name, slot.model.version, before or "none")
                slot.stamp = stamp
        return slot.model

    def listing(self) -> list[dict[str, Any]]:
        return [{"name": name, "title": s.config.title, "frequency": s.config.frequency,
                 "champion": champion_version(s.root)} for name, s in sorted(self.slots.items())]


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, by header or by counting."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await self._refuse(send)
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge(self.limit)
            return message

        try:
            await self.app(scope, counted, send)
        except BodyTooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        await JSONResponse({"error": str(BodyTooLarge(self.limit))}, status_code=413)({"type": "http"}, _no_body, send)


class BodyTooLarge(Exception):
    """A request body went over the limit while it was being read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body over {limit} bytes; send a smaller plan")


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _key_check(api_key: str | None):
    """A dependency that demands ``api_key`` in ``X-API-Key`` (nothing when no key is set)."""

    def check(given: str | None = Depends(API_KEY_HEADER)) -> None:
        if api_key and not hmac.compare_digest((given or "").encode(), api_key.encode()):
            raise HTTPException(401, "missing or wrong API key: send it in the X-API-Key header")

    return check


def _validation_message(exc: RequestValidationError) -> tuple[str, str, list[str]]:
    """The first validation error as (field, message, allowed values)."""
    first = exc.errors()[0]
    path = [str(p) for p in first.get("loc", ()) if p != "body"]
    ctx = first.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, UnknownField):
        return ".".join(path + [cause.field]), str(cause), cause.allowed
    if first.get("type") == "json_invalid":
        return "body", f"not valid JSON ({ctx.get('error', 'syntax error')} at character {path[-1]})", []
    field = ".".join(path) or "body"
    expected = ctx.get("expected")
    if expected:  # a fixed choice: the allowed values go in their own list
        allowed = [part.strip(" '") for part in str(expected).replace(" or ", ", ").split(",")]
        return field, f"'{first.get('input')}' is not an allowed value", allowed
    return field, str(first.get("msg", "invalid value")).removeprefix("Value error, "), []


def _install_errors(app: FastAPI) -> None:
    def error(status: int, message: str, **extra: Any) -> JSONResponse:
        return JSONResponse({"error": message, **extra}, status_code=status)

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return error(404, str(exc))

    @app.exception_handler(RequestError)
    async def bad_value(_: Request, exc: RequestError) -> JSONResponse:
        return error(422, str(exc), field=exc.field, allowed=exc.allowed)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return await bad_value(_, RequestError(*_validation_message(exc)))

    @app.exception_handler(OptimizerTimeout)
    async def too_slow(_: Request, exc: OptimizerTimeout) -> JSONResponse:
        return error(503, str(exc))

    @app.exception_handler(HTTPException)
    async def http(_: Request, exc: HTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, BodyTooLarge):  # FastAPI reports a failed body read as 400
            return error(413, str(exc.__cause__))
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return error(500, "internal error while answering; the server log has the details")


def create_app(datasets: list[str] | None = None, output_root: str | None = None,
               api_key: str | None = None) -> FastAPI:
    """The service for ``datasets`` (names or YAML paths; default every configured dataset).

    ``api_key`` defaults to ``$MMM_API_KEY``; empty means no key is required.
    """
    serve_settings = load_defaults()["serve"]
    champions = Champions(datasets, output_root)
    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV, "")
    app = FastAPI(title="mmm_pipeline", version=__version__,
                  description="Champion marketing-mix models: channel returns, response curves, elasticities, "
                  "predictions, budget plans and scenarios, with bootstrap intervals.")
    app.state.champions = champions
    app.add_middleware(BodyLimit, limit=int(serve_settings["max_request_bytes"]))
    _install_errors(app)
    guarded = {"dependencies": [Depends(_key_check(key))]}

    def answer(value: Any) -> JSONResponse:
        return JSONResponse(to_jsonable(value))

    @app.get("/health", summary="Liveness and the champion each loaded dataset serves")
    def health() -> JSONResponse:
        return answer({"status": "ok", "loaded": {n: s.model.version if s.model else None
                                                  for n, s in champions.slots.items()}})

    @app.get("/datasets", summary="Served datasets and their champions", **guarded)
    def datasets_() -> JSONResponse:
        return answer(champions.listing())

    @app.get("/datasets/{name}/model", summary="Version, training window, gate, not-identified channels", **guarded)
    def model_info(name: str) -> JSONResponse:
        return answer(champions.get(name).info())

    @app.get("/datasets/{name}/channels", summary="ROAS, marginal ROAS, intervals, identification", **guarded)
    def channels(name: str) -> JSONResponse:
        return answer(champions.get(name).channels())

    @app.get("/datasets/{name}/response-curves", summary="Contribution per period against spend", **guarded)
    def response_curves(name: str) -> JSONResponse:
        return answer(champions.get(name).response_curves())

    @app.get("/datasets/{name}/elasticities", summary="Elasticities by feature and node; own price", **guarded)
    def elasticities(name: str) -> JSONResponse:
        return answer(champions.get(name).elasticities())

    @app.post("/datasets/{name}/predict", summary="Revenue of a future spend and price plan", **guarded)
    def predict(name: str, body: PredictRequest) -> JSONResponse:
        return answer(champions.get(name).predict(body.model_dump(exclude_none=True)))

    @app.post("/datasets/{name}/optimize", summary="Risk-aware budget plan ({} plans the current budget)", **guarded)
    def optimize(name: str, body: OptimizeRequest) -> JSONResponse:
        model = champions.get(name)
        limit = float(model.settings["serve"]["optimize_seconds"])
        return answer(model.optimize(time_limit=limit, **body.model_dump(exclude_none=True)))

    @app.post("/datasets/{name}/scenarios", summary="Stored or ad-hoc what-if scenarios with intervals", **guarded)
    def scenarios(name: str, body: ScenariosRequest) -> JSONResponse:
        custom = [s.model_dump(exclude_none=True) for s in body.scenarios]
        return answer(champions.get(name).scenarios(body.names, custom))

    return app


def serve(datasets: list[str] | None, host: str, port: int, output_root: str | None = None) -> int:
    """Load the named champions, then answer on ``host:port`` until stopped."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(datasets, output_root)
    for name in app.state.champions.slots if datasets else []:
        try:
            app.state.champions.get(name)
        except NotFound as exc:
            log.warning("%s", exc)
    uvicorn.run(app, host=host, port=port, log_level="info")
    return 0
