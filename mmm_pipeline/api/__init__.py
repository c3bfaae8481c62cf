"""The stable Python API: ``mmm_pipeline.load(dataset)`` and the HTTP service built on it.

>>> import mmm_pipeline
>>> model = mmm_pipeline.load("pymc_example")        # the dataset's champion
>>> model.channels()["x1"]["roas"]                     # stored results, as in the report
>>> model.predict({"spend": {"x1": 300.0}, "periods": 13})
>>> model.optimize(total_budget=20_000, locked=["x2"])
>>> model.scenarios(custom=[{"name": "x1_off", "channels": {"x1": 0.0}}])

:mod:`~mmm_pipeline.api.model` is the facade; :mod:`~mmm_pipeline.api.store` reads the model
store; :mod:`~mmm_pipeline.api.service` is the FastAPI app that answers the same calls over
HTTP (``python -m mmm_pipeline serve``). No Dagster import anywhere in this package.
"""

from mmm_pipeline.api.errors import RequestError
from mmm_pipeline.api.model import ChampionModel, OptimizerTimeout, load
from mmm_pipeline.api.store import NotFound

__all__ = ["ChampionModel", "NotFound", "OptimizerTimeout", "RequestError", "load"]
