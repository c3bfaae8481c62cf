"""Channel returns with bootstrap intervals, elasticities, and the "not identified" flags.

Everything here takes a FittedNAM whose members are bootstrap replicates and turns its
per-member numbers into the intervals of channels.json, elasticities.json and the summary's
price elasticity. The model computes per-member quantities batched over members; this module
only summarises across them.
"""

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mmm_pipeline.core.features.model_data import ModelData
from mmm_pipeline.core.infer.information import ChannelInformation
from mmm_pipeline.core.infer.intervals import Interval, at_least, identification, interval, interval_dict
from mmm_pipeline.core.wording import join_names

log = logging.getLogger(__name__)

#: channel_summary columns reported as intervals in channels.json
INTERVAL_COLUMNS = ("spend", "contribution", "share", "roas", "mroas")
#: channels.json columns widened to at least the information bound (same relative error as ROAS:
#: contribution is ROAS x spend; marginal ROAS is taken to be as uncertain as ROAS)
WIDENED_COLUMNS = ("contribution", "roas", "mroas")
#: saturation_params entries already reported as their own channels.json fields
REPORTED_ELSEWHERE = ("decay", "saturation_spend")
#: kinds whose elasticity d log y / d log x is meaningful (0/1 events and Fourier terms are not)
ELASTICITY_KINDS = ("media", "decreasing", "increasing", "concave", "free")


def summary_long(summary: pd.DataFrame) -> pd.DataFrame:
    """``fitted.channel_summary`` as a flat frame with ``member`` and ``channel`` columns.

    Accepts either a (member, channel) index or those as columns, so a change of index style
    in the model does not silently break the results.
    """
    flat = summary.reset_index() if not {"member", "channel"} <= set(summary.columns) else summary.copy()
    if "channel" not in flat.columns:
        raise ValueError(f"channel_summary has no 'channel' column or index level; columns: {list(flat.columns)}")
    if "member" not in flat.columns:
        for alt in ("k", "model", "replicate", "level_0"):
            if alt in flat.columns:
                flat = flat.rename(columns={alt: "member"})
                break
        else:
            flat["member"] = flat.groupby("channel").cumcount()
    return flat.sort_values(["channel", "member"], kind="stable")


def _per_channel(flat: pd.DataFrame, channel: str, column: str) -> np.ndarray:
    rows = flat[flat["channel"] == channel]
    if rows.empty:
        raise KeyError(f"channel_summary has no rows for channel '{channel}'")
    if column not in rows.columns:
        return np.full(len(rows), np.nan)
    return rows[column].to_numpy(dtype=float)


def _robust_number(values: np.ndarray) -> float | None:
    """Median of the finite replicate values (spend levels like mROAS=1 can be undefined for some)."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    return float(np.median(finite)) if finite.size else None


def own_variation(data: ModelData, train_mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per channel: the CV of its spend, and the CV of the part no other driver explains.

    The second is the residual of a least-squares fit of the channel's spend on every other
    channel and every non-media feature (node-varying ones averaged over nodes), divided by
    the channel's mean spend. Only that own variation can tell the model what the channel did.
    """
    spend = np.asarray(data.spend, dtype=float)
    media = set(data.media_index.tolist())
    controls = data.X[:, :, [i for i in range(len(data.features)) if i not in media]].mean(axis=1)
    if train_mask is not None:
        keep = np.asarray(train_mask, dtype=bool)
        spend, controls = spend[keep], controls[keep]
    mean = spend.mean(axis=0)
    raw = np.divide(spend.std(axis=0), mean, out=np.zeros_like(mean), where=mean > 0)
    own = np.zeros_like(raw)
    for c in range(spend.shape[1]):
        design = np.column_stack([np.ones(len(spend)), np.delete(spend, c, axis=1), controls])
        coef, *_ = np.linalg.lstsq(design, spend[:, c], rcond=None)
        own[c] = np.std(spend[:, c] - design @ coef) / mean[c] if mean[c] > 0 else 0.0
    return raw, own


def data_identifiability(
    data: ModelData, min_own_cv: float = 0.15, max_correlation: float = 0.95, train_mask: np.ndarray | None = None
) -> dict[str, str]:
    """Per channel, why the spend itself cannot identify an effect ("" when it can).

    The bootstrap only measures how much estimates move when the periods are resampled. It
    cannot see a confound that every resample shares: a channel whose spend moves only with
    the season, the trend or the other channels is indistinguishable from them, and two
    channels that always move together can trade effect freely. A model then splits the effect
    by its initialisation or regularisation, every replicate agrees, and the interval is
    falsely narrow. These checks look at the spend directly.
    """
    spend = np.asarray(data.spend, dtype=float)
    if train_mask is not None:
        spend = spend[np.asarray(train_mask, dtype=bool)]
    names = list(data.channel_names)
    raw_cv, own_cv = own_variation(data, train_mask)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.corrcoef(spend, rowvar=False) if spend.shape[1] > 1 else np.ones((1, 1))
    reasons: dict[str, str] = {}
    for c, ch in enumerate(names):
        close = np.isfinite(corr[c]) & (np.abs(corr[c]) > max_correlation)
        partners = [names[j] for j in np.flatnonzero(close) if j != c]
        if spend[:, c].sum() <= 0:
            reasons[ch] = "no spend in the data: there is nothing to estimate a return from"
        elif partners:
            reasons[ch] = (f"spend moves together with {join_names(partners)} (|correlation| > {max_correlation:.2f}): the data "
                           "cannot split the effect between them")
        elif own_cv[c] < min_own_cv:
            reasons[ch] = (
                f"too little variation of its own: spend varies by {raw_cv[c]:.0%} (CV), but only {own_cv[c]:.0%} "
                f"is not explained by the other channels, season, trend and controls (minimum {min_own_cv:.0%}), "
                "so its effect cannot be separated from theirs"
            )
        else:
            reasons[ch] = ""
    return reasons


def roas_intervals(fitted: Any, data: ModelData, level: float = 0.95) -> dict[str, Interval]:
    """ROAS interval per channel over the whole data period."""
    flat = summary_long(fitted.channel_summary(data))
    return {ch: interval(_per_channel(flat, ch, "roas"), level) for ch in data.channel_names}


def channel_results(
    fitted: Any,
    data: ModelData,
    settings: dict[str, Any],
    current_spend_per_period: np.ndarray,
    train_mask: np.ndarray | None = None,
    fold_stability: Mapping[str, float] | None = None,
    information: Mapping[str, ChannelInformation] | None = None,
) -> dict[str, dict[str, Any]]:
    """channels.json: per channel returns with intervals, identification, adstock and saturation.

    ``current_spend_per_period`` is :func:`mmm_pipeline.core.plan.horizon.current_spend`, so the
    channel table and the optimizer compare against the same run-rate. ``information``
    (:func:`mmm_pipeline.core.infer.information.channel_information` of the final model) widens
    the ROAS, contribution and marginal-ROAS intervals to at least what the data support
    (:func:`at_least`) and decides whether the data or the model's assumptions pin the channel
    down. A channel is identified when the data do (see :func:`information_verdict`), its
    widened ROAS interval passes :func:`identification`, its spend passes
    :func:`data_identifiability` (``train_mask``: the periods the model was fitted on) and, only
    where its own information does not already settle it, its ROAS and elasticity are stable
    across walk-forward folds (``fold_stability``, see :func:`fold_instability`).
    """
    boot = settings.get("bootstrap") or {}
    level = float(boot.get("level", 0.95))
    max_half = float(boot.get("not_identified_half_width", 0.5))
    max_prior = float(boot.get("max_prior_share", 0.5))
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    form = ((settings.get("model") or {}).get("media") or {}).get("saturation", "hill")
    flat = summary_long(fitted.channel_summary(data))
    adstock = np.asarray(fitted.adstock_weights(), dtype=float)  # [K, C, L]
    sat = {name: np.asarray(v, dtype=float) for name, v in fitted.saturation_params().items()}
    spend_reasons = data_identifiability(
        data, float(boot.get("min_own_spend_cv", 0.15)), float(boot.get("max_spend_correlation", 0.95)), train_mask
    )
    channels = list(data.channel_names)
    out: dict[str, dict[str, Any]] = {}
    for c, ch in enumerate(channels):
        info = (information or {}).get(ch)
        rel_se = info.rel_se_data if info is not None else 0.0
        entry: dict[str, Any] = {}
        for col in INTERVAL_COLUMNS:
            iv = interval(_per_channel(flat, ch, col), level)
            entry[col] = (at_least(iv, rel_se) if col in WIDENED_COLUMNS else iv).to_dict()
        roas = at_least(interval(_per_channel(flat, ch, "roas"), level), rel_se)
        first = information_verdict(info, max_prior)
        identified, reason = (False, first) if first else identification(roas, max_half)
        settled = info is not None and not first and z * rel_se <= max_half
        # a lift test supplies the spend variation the history lacks: the spend checks judge the history
        by_tests = settled and info.rel_se_sales > max_half / z  # nan (not computed) compares false
        extra = ["" if by_tests else spend_reasons.get(ch, ""),
                 "" if settled else fold_instability(ch, fold_stability, settings)]
        if any(extra):
            identified = False
            reason = "; ".join(r for r in (reason, *extra) if r)
        if info is not None:
            entry["information"] = info.to_dict()
        entry["evidence"] = evidence_source(identified, info, z, max_half)
        if entry["evidence"] == "lift tests":
            reason = "identified with its lift tests: the sales history alone would not pin it down"
        entry["saturation_spend"] = _robust_number(_per_channel(flat, ch, "saturation_spend"))
        entry["mroas_one_spend"] = _robust_number(_per_channel(flat, ch, "mroas_one_spend"))
        entry["current_spend_per_period"] = float(current_spend_per_period[c])
        entry["identified"] = identified
        entry["reason"] = reason
        entry["adstock"] = {
            "decay": interval_dict(_per_channel(flat, ch, "decay"), level),
            "weights": [float(w) for w in adstock[:, c, :].mean(axis=0)],
        }
        entry["saturation"] = {
            "form": form,
            "params": {k: float(np.nanmean(v[:, c])) for k, v in sat.items() if k not in REPORTED_ELSEWHERE},
        }
        out[ch] = entry
        if not identified:
            log.info("channel %s not identified: %s", ch, reason)
    return out


def evidence_source(identified: bool, info: ChannelInformation | None, z: float, max_half: float) -> str:
    """What identified a channel: "sales history", "lift tests" (the history alone would not have),
    or "none"."""
    if not identified:
        return "none"
    sales = info.rel_se_sales if info is not None else 0.0
    return "sales history" if math.isfinite(sales) and z * sales <= max_half else "lift tests"


def information_verdict(info: ChannelInformation | None, max_prior_share: float) -> str:
    """Why the information says the data do not pin a channel down, or "" when they might.

    Two failures the bootstrap cannot see: the data carry no information at all on the
    channel's return (its effect can be traded for another driver's), or most of the
    precision comes from the model's assumptions — regularisation, bounds, priors — so the
    replicates agree because the assumptions do, not because the data do.
    """
    if info is None:
        return ""
    if not math.isfinite(info.rel_se_data):
        return ("the data carry no information on its return: its effect can be traded for another channel, "
                "the season, the trend or a control without changing the fit")
    if info.prior_share > max_prior_share:
        return (f"{info.prior_share:.0%} of the precision of its ROAS comes from the model's assumptions "
                "(regularisation, bounds, priors) rather than from the data")
    return ""


def fold_instability(channel: str, fold_stability: Mapping[str, float] | None, settings: dict[str, Any]) -> str:
    """Why a channel's estimate is not stable enough to act on, or "" when it is.

    The bootstrap resamples one training window; walk-forward refits show whether the answer
    survives a different window. A channel whose ROAS or elasticity swings across folds by more
    than the gate's elasticity-CV threshold is not identified — unless its own information
    already pins it down (:func:`channel_results` skips this check then): early folds train on
    a fraction of the history, so their spread says how little a short window knows, not that
    the full history is unreliable.
    """
    if not fold_stability:
        return ""
    limit = float((settings.get("gate") or {}).get("max_elasticity_cv", 0.30))
    found = {k: float(fold_stability[k]) for k in (f"roas:{channel}", channel) if k in fold_stability}
    worst = max(found.items(), key=lambda kv: kv[1] if np.isfinite(kv[1]) else np.inf, default=None)
    if worst is None or (np.isfinite(worst[1]) and worst[1] <= limit):
        return ""
    what = "ROAS" if worst[0].startswith("roas:") else "elasticity"
    digits = 2 if round(worst[1], 2) > round(limit, 2) else 3  # never print "CV 0.30 > 0.30"
    return f"its {what} varies across walk-forward folds (CV {worst[1]:.{digits}f} > {limit:.{digits}f})"


def direct_effects(fitted: Any, data: ModelData, information: Mapping[str, ChannelInformation], level: float,
                   left_out: list[str]) -> dict[str, dict[str, Any]]:
    """Per channel, the return with the mediators ``left_out`` held fixed: the *direct* effect.

    ``fitted`` is the model with every feature (one member), ``information`` its
    :func:`channel_information`. The interval is the information bound around the model's
    estimate (no bootstrap of this second model: it is reported beside the total effect, not
    planned on).
    """
    flat = summary_long(fitted.channel_summary(data))
    out = {}
    for ch in data.channel_names:
        point = float(np.nanmean(_per_channel(flat, ch, "roas")))
        info = information.get(ch)
        iv = at_least(Interval(point, point, point, level), info.rel_se_data if info else math.inf)
        out[ch] = {"roas": iv.to_dict(), "mediators": list(left_out),
                   "note": "revenue that does not flow through " + join_names(left_out)}
    return out


def not_identified(channels: dict[str, dict[str, Any]]) -> list[str]:
    """Channel names flagged not identified in a channels.json mapping."""
    return [ch for ch, entry in channels.items() if not entry.get("identified", False)]


def elasticity_results(fitted: Any, data: ModelData, settings: dict[str, Any]) -> dict[str, dict[str, dict]]:
    """elasticities.json: ``{feature: {node: interval}}`` for every feature with a meaningful elasticity."""
    level = float((settings.get("bootstrap") or {}).get("level", 0.95))
    out: dict[str, dict[str, dict]] = {}
    for spec in data.features:
        if spec.kind not in ELASTICITY_KINDS:
            continue
        values = np.asarray(fitted.elasticity(spec.name, data), dtype=float)  # [K, N]
        out[spec.name] = {node: interval_dict(values[:, i], level) for i, node in enumerate(data.nodes)}
    return out


def price_elasticity(fitted: Any, data: ModelData, settings: dict[str, Any]) -> dict[str, dict]:
    """summary.price_elasticity: own-price elasticity per node and per category (node mean).

    The own-price feature is the one of kind ``decreasing``; with several, the one whose name
    mentions price. Returns ``{}`` for datasets without a price.
    """
    level = float((settings.get("bootstrap") or {}).get("level", 0.95))
    candidates = [f.name for f in data.features if f.kind == "decreasing"]
    if not candidates:
        return {}
    named = [n for n in candidates if "price" in n.lower()]
    feature = (named or candidates)[0]
    values = np.asarray(fitted.elasticity(feature, data), dtype=float)  # [K, N]
    out = {node: interval_dict(values[:, i], level) for i, node in enumerate(data.nodes)}
    cat_index = data.category_index
    for j, cat in enumerate(data.categories):
        if cat in out:  # category-level model: node == category
            continue
        out[cat] = interval_dict(values[:, cat_index == j].mean(axis=1), level)
    return out
