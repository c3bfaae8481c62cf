"""The walk-forward ensemble: the fold models, averaged, as a model in its own right.

Each walk-forward fold trains a model on a different stretch of history. Averaging their
predictions smooths out what any single training window got wrong, at the price of giving
early, short-history folds a vote. Whether that trade pays is an empirical question, so the
ensemble is scored on the final hold-out beside the final model rather than assumed better.

Only folds whose training ended before the hold-out are members: a model that saw a hold-out
period cannot be scored on it.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.train.walk_forward import FoldResult, prediction_table

log = logging.getLogger(__name__)


@dataclass
class FoldEnsemble:
    """Fold models averaged with equal weight; ``months`` names each member's test month."""

    months: list[str]
    models: list[Any]  # FittedNAM per fold

    def member_predictions(self, data: ModelData) -> np.ndarray:
        """``[M, T, N]``: each fold model's prediction (mean over its own members)."""
        return np.stack([np.asarray(m.predict(data), dtype=float).mean(axis=0) for m in self.models])

    def predict(self, data: ModelData) -> np.ndarray:
        """``[T, N]`` ensemble prediction."""
        return self.member_predictions(data).mean(axis=0)


def ensemble_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings.walk_forward.ensemble`` as ``{enabled, last_folds}`` (a bare bool is accepted)."""
    raw = (settings.get("walk_forward") or {}).get("ensemble", False)
    section = {"enabled": bool(raw)} if isinstance(raw, bool) else dict(raw or {})
    last = section.get("last_folds")
    if last is not None and int(last) < 1:
        raise ValueError(f"settings.walk_forward.ensemble.last_folds is {last}; it must be >= 1 or null (all folds)")
    return {"enabled": bool(section.get("enabled", False)), "last_folds": None if last is None else int(last)}


def build_fold_ensemble(
    folds: Sequence[FoldResult], holdout_start: pd.Timestamp | None, last_folds: int | None = None
) -> FoldEnsemble:
    """The ensemble of the fitted fold models trained entirely before ``holdout_start``.

    ``last_folds`` keeps only the most recent N of those (recent windows resemble the future
    most). Raises when no fold qualifies, naming why, rather than returning an empty model.
    """
    usable = [f for f in sorted(folds, key=lambda f: f.month) if f.ok and f.model is not None]
    if holdout_start is not None:
        usable = [f for f in usable if pd.Timestamp(f.train_end) < holdout_start]
    if last_folds is not None:
        usable = usable[-last_folds:]
    if not usable:
        kept = sum(1 for f in folds if f.model is not None)
        raise ValueError(
            f"no fold model qualifies for the walk-forward ensemble: {len(folds)} fold(s), {kept} with a stored model, "
            f"none trained entirely before the hold-out start {holdout_start}"
        )
    log.info("walk-forward ensemble of %d fold model(s): %s .. %s", len(usable), usable[0].month, usable[-1].month)
    return FoldEnsemble([f.month for f in usable], [f.model for f in usable])


def ensemble_frame(ensemble: FoldEnsemble, data: ModelData, rows: np.ndarray) -> pd.DataFrame:
    """The ensemble's prediction table for the periods ``rows`` (bool ``[T]``)."""
    rows = np.asarray(rows, dtype=bool)
    return prediction_table(data, rows, ensemble.predict(data)[rows], "walk_forward_ensemble")
