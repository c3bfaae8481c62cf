"""What each control and brand item is to the media effects: confounder, precision or mediator.

- **confounder**: moves sales *and* the budget (demand, a competitor, the season of a market).
  It must stay in the model, or media get credit for it.
- **precision**: moves sales only. Keeping it sharpens every estimate and changes none.
- **mediator**: media move it, and it moves sales (brand awareness, NPS, consideration).
  Controlling for it removes the part of the media effect that flows through it, so the model
  would report only a *direct* effect — a planner who moves budget gets the *total* effect.

A role is declared per item in the dataset YAML (``role:``). Otherwise it comes from marketing
science, not from a statistical test: brand-health measures (the ``brand:`` section) are the
intermediate outcomes advertising works through, so they are mediators — unless media explain
a negligible share (``negligible_share``, 1%) of their movement, which no mediator shows; other
controls are confounders (precision when they do not move with spend). A few years of data cannot reliably
tell a mediator from a confounder — both correlate with spend — so the data only supply the
evidence printed next to the role: how much of the item's movement the media stock explains
beyond its own past (a mediator's signature) and how much of spend's movement the item's
previous value explains (a budget that follows it: a confounder's signature). A control that
looks like a mediator by that evidence is called out so the user can declare it.
"""

import logging
import math
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from mmm_pipeline.core.data.periods import PERIODS_PER_MONTH
from mmm_pipeline.core.features.model_data import ModelData

log = logging.getLogger(__name__)

ROLES = ("confounder", "precision", "mediator")
#: derived model features of an item are named ``<item>`` and ``<item><suffix>...`` (lags, changes)
DERIVED_SUFFIXES = ("_lag", "_change")


@dataclass(frozen=True)
class RoleVerdict:
    """One item's role, where it came from, and the data's evidence about it."""

    item: str
    role: str
    declared: bool
    section: str  # "brand" or "controls"
    features: tuple[str, ...]
    media_share: float  # see media_drive
    media_p: float
    chase_share: float
    chase_p: float
    spend_correlation: float
    looks_mediated: bool = False  # a control whose evidence reads like a mediator's
    brand_unmoved: bool = False  # brand health that media demonstrably do not move: not treated as a mediator

    def sentence(self) -> str:
        """The role in words a planner can check and change."""
        evidence = (f"media spend up to each period explains {_share(self.media_share)} of its movement beyond its own past, trend and "
                    f"season (p {_p(self.media_p)})")
        if self.declared:
            return f"{self.item} is a {self.role}, as declared in the dataset YAML; {evidence}"
        if self.role == "mediator":
            return (f"{self.item} is brand health, treated as a mediator: media build it, so media effects are "
                    f"reported as total effects (directly and through {self.item}) with the direct effect beside "
                    f"them; {evidence}. Declare `role: confounder` on {self.item} if it drives the budget instead")
        moves = "moves" if self.role == "confounder" else "does not move"
        text = (f"{self.item} {moves} with media spend (correlation {self.spend_correlation:.2f}) and stays in the "
                f"model as a {'confounder' if self.role == 'confounder' else 'precision control'}")
        if self.brand_unmoved:
            text = (f"{self.item} is brand health, but {evidence}: media do not build it here. It "
                    f"{text[len(self.item) + 1:]}. Declare `role: mediator` on {self.item} if media do drive it")
        if self.looks_mediated:
            text += (f"; but {evidence} and it does not lead the budget: if media drive it, declare "
                     "`role: mediator` on it")
        return text

    def to_dict(self) -> dict:
        out = asdict(self)
        out["features"] = list(self.features)
        out["sentence"] = self.sentence()
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}


def _share(value: float) -> str:
    return f"{value:.0%}" if math.isfinite(value) else "an unknown share"


def _p(value: float) -> str:
    return f"= {value:.2g}" if math.isfinite(value) else "not computable"


def item_features(item: str, feature_names: list[str]) -> tuple[str, ...]:
    """The model features derived from ``item`` (itself, its lags and changes)."""
    return tuple(n for n in feature_names if n == item or any(n.startswith(item + s) for s in DERIVED_SUFFIXES))


def _coarsest_grain(values: pd.Series, spend: pd.Series) -> tuple[pd.Series, pd.Series, bool]:
    """Item and spend at the grain the item changes at: monthly (means, sums) when the item is a
    monthly survey held within each month, else as given."""
    months = values.index.to_period("M")
    if values.groupby(months).nunique().max() <= 1 and months.nunique() < len(values):
        return values.groupby(months).mean(), spend.groupby(spend.index.to_period("M")).sum(), True
    return values, spend, False


def _partial_share(y: np.ndarray, base: np.ndarray, extra: np.ndarray) -> tuple[float, float]:
    """Share of the residual variation of ``y`` after ``base`` that ``extra`` (one column) explains,
    and the F-test p-value."""
    full = np.column_stack([base, extra])
    rss = [float(np.sum((y - d @ np.linalg.lstsq(d, y, rcond=None)[0]) ** 2)) for d in (base, full)]
    dof = len(y) - full.shape[1]
    if dof < 3 or rss[0] <= 0:
        return float("nan"), float("nan")
    f_stat = (rss[0] - rss[1]) / (rss[1] / dof) if rss[1] > 0 else math.inf
    return max(0.0, 1.0 - rss[1] / rss[0]), float(stats.f.sf(f_stat, 1, dof))


def media_drive(values: pd.Series, spend: pd.Series, frequency: str) -> dict[str, float]:
    """How the item and media spend lead each other, at the grain the item changes at.

    ``media_share``/``media_p``: share of the item's movement that the media stock (spend with a
    carry-over half-life of about a month, up to this period) explains beyond the item's own
    past, a trend and a yearly season. ``chase_share``/``chase_p``: share of spend's movement
    that the item's *previous* value explains beyond spend's own past (last value and stock),
    trend and season — what a budget that follows the item (a confounder) shows and a mediator
    does not.
    """
    item, total, monthly = _coarsest_grain(values, spend)
    per_month = 1.0 if monthly else PERIODS_PER_MONTH[frequency]
    decay = 0.5 ** (1.0 / max(per_month, 1.0))
    stock = total.to_numpy(float).copy()
    for t in range(1, len(stock)):
        stock[t] += decay * stock[t - 1]
    y, s = item.to_numpy(float), total.to_numpy(float)
    n = len(y)
    nan = {"media_share": float("nan"), "media_p": float("nan"), "chase_share": float("nan"), "chase_p": float("nan")}
    if n < 12 or np.std(y) == 0 or np.std(s) == 0:
        return nan
    per_year = 12.0 * per_month
    t = np.arange(1, n)
    season = [f(2 * np.pi * k * t / per_year) for k in (1, 2) for f in (np.sin, np.cos)] if n > per_year else []
    common = [np.ones(n - 1), t / n, *season]
    media_share, media_p = _partial_share(y[1:], np.column_stack([*common, y[:-1]]), stock[1:] / stock.mean())
    # spend's own history enters as its last value *and* its stock, so an item that is itself a
    # stock of past spend (a mediator) cannot look as if it led the budget
    own = np.column_stack([*common, s[:-1] / s.mean(), stock[:-1] / stock.mean()])
    chase_share, chase_p = _partial_share(s[1:] / s.mean(), own, y[:-1])
    return {"media_share": media_share, "media_p": media_p, "chase_share": chase_share, "chase_p": chase_p}


def assign_roles(data: ModelData, declared: dict[str, tuple[str, str | None]], settings: dict
                 ) -> dict[str, RoleVerdict]:
    """A role for every item in ``declared``: ``{item: (section, declared role or None)}``."""
    opts = dict((settings.get("features") or {}).get("mediator_detection") or {})
    min_share = float(opts.get("min_share", 0.10))
    max_p = float(opts.get("max_p_value", 0.01))
    min_corr = float(opts.get("confounder_correlation", 0.30))
    negligible = float(opts.get("negligible_share", 0.01))
    spend = pd.Series(np.asarray(data.spend, dtype=float).sum(1), index=data.dates)
    out: dict[str, RoleVerdict] = {}
    for item, (section, role) in declared.items():
        feats = item_features(item, data.feature_names)
        if not feats:  # dropped as constant: nothing in the model to assign
            continue
        values = pd.Series(data.X[:, :, data.feature_index(item)].mean(1), index=data.dates)
        ev = media_drive(values, spend, data.frequency)
        corr = float(np.corrcoef(values, spend)[0, 1]) if values.std() > 0 and spend.std() > 0 else 0.0
        looks = (math.isfinite(ev["media_p"]) and ev["media_p"] < max_p and ev["media_share"] >= min_share
                 and not ev["chase_p"] < max_p)
        unmoved = math.isfinite(ev["media_share"]) and ev["media_share"] < negligible
        brand_mediator = section == "brand" and not unmoved
        chosen = role or ("mediator" if brand_mediator else "confounder" if abs(corr) >= min_corr else "precision")
        verdict = RoleVerdict(item, chosen, role is not None, section, feats, ev["media_share"], ev["media_p"],
                              ev["chase_share"], ev["chase_p"], corr, looks and chosen != "mediator",
                              brand_unmoved=section == "brand" and unmoved and role is None)
        out[item] = verdict
        (log.warning if verdict.looks_mediated else log.info)("role: %s", verdict.sentence())
    return out


def mediators(roles: dict[str, dict]) -> list[str]:
    """Model features of every mediator item in ``ModelData.meta["roles"]``."""
    return [f for verdict in roles.values() if verdict["role"] == "mediator" for f in verdict["features"]]


def media_view(data: ModelData) -> ModelData:
    """``data`` without its mediators' features: the model whose media effects are total effects."""
    drop = set(mediators(data.meta.get("roles") or {}))
    if not drop:
        return data
    keep = [i for i, f in enumerate(data.features) if f.name not in drop]
    return replace(data, X=data.X[:, :, keep], features=[data.features[i] for i in keep],
                   meta={**data.meta, "left_out_mediators": sorted(drop)})
