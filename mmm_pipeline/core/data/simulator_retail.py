"""The ``retail_daily`` shape: a multi-category e-commerce retailer with known truth.

Daily sales per sub-category (GMV, units, MRP, discount), monthly media investment in crores
across nine channels, monthly NPS and a special-sale calendar, in the layout of the DT Mart
case-study files, so the embedded default exercises hierarchy, price, media, brand health and
events at once. Noiseless sales of node ``n`` (category ``k``) on day ``t`` are, on a level scale,

    scale_n * (base_k + trend_k + season_k + sale_k + h_k(NPS) + g_k(price_tn) + sum_c beta_ck hill_c(adstock_c))

and observed sales multiply that by ``1 + eps``. Every driver enters additively, so an additive
model of a per-node-scaled level target can be judged fairly; the price response
``g = -a_k log(p / p_ref)`` of the effective price ``p = mrp (1 - discount)`` is additive in
log MRP and log(1 - discount) as well. Inputs are rounded to what the files hold (spend to 0.1
crore, MRP to whole rupees, discount to 4 decimals, NPS to 0.1) *before* the response is
computed, so the truth is exactly the response to the data the pipeline reads.
"""

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmm_pipeline.core.data.simulator_retail_design import (
    BUDGET_PROFILE,
    CATEGORIES,
    CHANNELS,
    CRORE,
    END,
    NODES,
    NOISE_COMMON_SD,
    NOISE_NODE_SD,
    RETAIL_L_MAX,
    RETAIL_SEED,
    SALES,
    SEASON_PEAK_DAY,
    START,
    ChannelDesign,
)
from mmm_pipeline.core.data.simulator_retail_truth import retail_outputs
from mmm_pipeline.core.data.simulator_spend import ar1, markov_on, peak_coefficients, yearly_fourier
from mmm_pipeline.core.data.simulator_truth import Simulation, adstock, geometric_weights, hill, sig

log = logging.getLogger(__name__)


@dataclass
class RetailInputs:
    """Everything the pipeline reads, already rounded as in the files (``[T, ...]`` daily)."""

    dates: pd.DatetimeIndex
    months: pd.DatetimeIndex
    month_of_day: np.ndarray  # [T] index into months
    sales: pd.DataFrame  # one row per sale day: date, name
    sale_day: np.ndarray  # [T] 0/1
    crores: np.ndarray  # [M, C] monthly spend in crores
    spend: np.ndarray  # [T, C] INR per day
    nps_month: np.ndarray  # [M]
    nps: np.ndarray  # [T]
    mrp: np.ndarray  # [T, N] INR
    discount: np.ndarray  # [T, N] fraction


@dataclass
class RetailResponse:
    """The generating response: per-node level components and the parameters behind them."""

    components: dict[str, np.ndarray]  # [T, N] in level units: base, trend, ..., price
    media_level: np.ndarray  # [T, N, C] level units
    scale: np.ndarray  # [N] INR per day per level unit
    half: np.ndarray  # [C] Hill half-saturation, INR per day
    slope: np.ndarray  # [C]
    coefficient: np.ndarray  # [C] INR per day at full saturation, summed over nodes
    price_coef: np.ndarray  # [N] a of the node's category
    log_price_dev: np.ndarray  # [T, N] log(p / p_ref)
    beta: np.ndarray  # [K, C] level units per unit of saturation, per category
    category_scale: np.ndarray  # [K]
    season_coefs: list[list[tuple[float, float]]]  # per category, (sin, cos) per harmonic
    node_allocation: np.ndarray  # [C, N] share of each channel's contribution per node

    @property
    def level(self) -> np.ndarray:
        return sum(self.components.values()) + self.media_level.sum(axis=2)


def simulate_retail_daily(seed: int = RETAIL_SEED, name: str = "retail_daily") -> Simulation:
    """Simulate retail_daily: 2022-07-01 .. 2025-06-30, 3 categories, 8 sub-categories, 9 channels."""
    rng = np.random.default_rng(seed)
    inputs = _inputs(rng)
    response = _response(inputs)
    noise = NOISE_COMMON_SD * rng.normal(size=(len(inputs.dates), 1)) + NOISE_NODE_SD * rng.normal(
        size=(len(inputs.dates), len(NODES))
    )
    noiseless = response.scale[None, :] * response.level
    price = inputs.mrp * (1.0 - inputs.discount)
    units = np.rint(noiseless * np.maximum(1.0 + noise, 0.3) / price)
    gmv = np.round(units * price, 2)
    log.info("simulated retail_daily (seed %d): %d days x %d nodes", seed, len(inputs.dates), len(NODES))
    return retail_outputs(name, seed, inputs, response, noiseless, units, gmv)


def _inputs(rng: np.random.Generator) -> RetailInputs:
    dates = pd.date_range(START, END, freq="D")
    months = pd.date_range(START, END, freq="MS")
    month_of_day = np.asarray((dates.year - dates[0].year) * 12 + dates.month - dates[0].month)
    sales = _sale_calendar(dates)
    sale_day = dates.isin(pd.DatetimeIndex(sales["date"])).astype(float)
    crores = _monthly_media(rng, months, CHANNELS)
    spend = crores[month_of_day] * CRORE / dates.days_in_month.to_numpy()[:, None]
    nps_month = np.round(np.clip(52.0 + ar1(rng, len(months), 0.7, 4.0), 38.0, 68.0), 1)
    mrp, discount = _prices(rng, dates, sales)
    return RetailInputs(dates, months, month_of_day, sales, sale_day, crores, spend, nps_month,
                        nps_month[month_of_day], mrp, discount)


def _sale_calendar(dates: pd.DatetimeIndex) -> pd.DataFrame:
    """One row per sale day inside ``dates`` (first sale wins where two overlap)."""
    rows = [(pd.Timestamp(first) + pd.Timedelta(days=k), name) for name, first, n in SALES for k in range(n)]
    cal = pd.DataFrame(rows, columns=["date", "name"]).drop_duplicates("date")
    cal = cal[(cal["date"] >= dates[0]) & (cal["date"] <= dates[-1])]
    return cal.sort_values("date").reset_index(drop=True)


def _monthly_media(rng: np.random.Generator, months: pd.DatetimeIndex, designs: list[ChannelDesign]) -> np.ndarray:
    """``[M, C]`` monthly spend in crores, rounded to 0.1 like the DT Mart media file.

    A shared budget factor (festive profile x growth x AR(1) wobble) correlates the channels;
    each adds its own log noise and on/off flighting; a ``follows`` channel is proportional to
    its leader with its own noise (Affiliates track Online marketing, as in DT Mart).
    """
    years = np.arange(len(months)) / 12.0
    budget = BUDGET_PROFILE[months.month - 1] * np.exp(0.06 * years + ar1(rng, len(months), 0.5, 0.15))
    names = [d.name for d in designs]
    out = np.zeros((len(months), len(designs)))
    for i, d in enumerate(designs):
        wobble = np.exp(rng.normal(0.0, d.idio_sd, len(months)) - d.idio_sd**2 / 2)
        on = markov_on(rng, len(months), d.p_on, persistence=0.4)
        if d.follows is not None:
            leader = designs[names.index(d.follows)]
            out[:, i] = d.mean_crores / leader.mean_crores * out[:, names.index(d.follows)] * wobble
        else:
            out[:, i] = d.mean_crores * budget**d.budget_exponent * wobble * on
    return np.round(out, 1)


def _prices(rng: np.random.Generator, dates: pd.DatetimeIndex, sales: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``[T, N]`` MRP and discount.

    MRP steps every 40-110 days (mean-reverting log steps, rounded to 10 INR above 1000);
    the discount wanders daily (node and category AR(1)), has occasional flash deals and is
    deeper on sale days (deepest for Diwali), so price moves enough to identify elasticity.
    """
    n_t = len(dates)
    sale_depth = np.zeros(n_t)
    for _, block in sales.groupby((sales["date"].diff().dt.days != 1).cumsum()):
        depth = rng.uniform(0.06, 0.14) + (0.05 if "Diwali" in block["name"].iloc[0] else 0.0)
        sale_depth[dates.get_indexer(pd.DatetimeIndex(block["date"]))] = depth
    cat_names = [c.name for c in CATEGORIES]
    cat_wobble = np.stack([ar1(rng, n_t, 0.95, 0.02) for _ in cat_names], axis=1)
    mrp = np.zeros((n_t, len(NODES)))
    disc = np.zeros((n_t, len(NODES)))
    for j, node in enumerate(NODES):
        log_dev, t = 0.0, 0
        while t < n_t:
            run = int(rng.integers(40, 111))
            mrp[t : t + run, j] = np.round(node.mrp * np.exp(log_dev), -1 if node.mrp >= 1000 else 0)
            log_dev = 0.6 * log_dev + rng.normal(0.0, 0.07)
            t += run
        flash = (rng.random(n_t) < 0.04) * 0.06
        depth = sale_depth * rng.uniform(0.8, 1.2)
        d = node.discount + ar1(rng, n_t, 0.9, 0.03) + cat_wobble[:, cat_names.index(node.category)] + flash + depth
        disc[:, j] = np.round(np.clip(d, 0.01, 0.8), 4)
    return mrp, disc


def _response(inp: RetailInputs) -> RetailResponse:
    """Media saturation first (its coefficients hit the design ROAS), then per-category levels.

    Each category's scale makes its media share the design share with mean level 1; the base
    absorbs the means of the other components; the price coefficient is calibrated last so the
    mean own-price elasticity of the full model hits the design value.
    """
    weights = geometric_weights(np.array([d.decay for d in CHANNELS]), RETAIL_L_MAX)
    half = np.array([sig(d.half_rel * inp.spend[inp.spend[:, i] > 0, i].mean(), 4) for i, d in enumerate(CHANNELS)])
    slope = np.array([d.slope for d in CHANNELS])
    sat = hill(adstock(inp.spend, weights), half, slope)
    coef = np.array([sig(d.roas * inp.spend[:, i].sum() / sat[:, i].sum(), 6) for i, d in enumerate(CHANNELS)])

    n_t, n_n, n_c = len(inp.dates), len(NODES), len(CHANNELS)
    t_years = (np.arange(n_t) - (n_t - 1) / 2) / 365.25
    doy = inp.dates.dayofyear.to_numpy()
    cat_of = np.array([[c.name for c in CATEGORIES].index(n.category) for n in NODES])
    log_p = np.log(inp.mrp * (1.0 - inp.discount))
    u = log_p - log_p.mean(axis=0, keepdims=True)
    alloc = np.array([d.category_weights for d in CHANNELS])  # [C, K]
    within = np.array([n.weight for n in NODES])
    within = within / np.bincount(cat_of, weights=within)[cat_of]

    comps = {k: np.zeros((n_t, n_n)) for k in ("base", "trend", "seasonality", "special_sale", "nps", "price")}
    media_level = np.zeros((n_t, n_n, n_c))
    beta, cat_scale, price_coef, seasons = np.zeros((len(CATEGORIES), n_c)), np.zeros(len(CATEGORIES)), np.zeros(n_n), []
    for k, cat in enumerate(CATEGORIES):
        members = np.nonzero(cat_of == k)[0]
        cat_scale[k] = sig((sat * coef * alloc[:, k]).sum(axis=1).mean() / cat.media_share, 8)
        beta[k] = coef * alloc[:, k] / cat_scale[k]
        season = peak_coefficients(list(cat.season_amplitude), [SEASON_PEAK_DAY] * 2)
        seasons.append(season)
        parts = {
            "trend": cat.trend_per_year * t_years,
            "seasonality": yearly_fourier(doy, season),
            "special_sale": cat.sale_effect * inp.sale_day,
            "nps": cat.nps_effect * np.tanh((inp.nps - 50.0) / 8.0),
        }
        media = sat * beta[k]  # [T, C]
        base = sig(1.0 - sum(p.mean() for p in parts.values()) - media.sum(axis=1).mean(), 8)
        rest = base + sum(parts.values()) + media.sum(axis=1)
        a = _calibrate_price(rest, u[:, members], cat.elasticity)
        comps["base"][:, members] = base
        for key, series in parts.items():
            comps[key][:, members] = series[:, None]
        comps["price"][:, members] = -a * u[:, members]
        media_level[:, members, :] = media[:, None, :]
        price_coef[members] = a
    return RetailResponse(
        components=comps, media_level=media_level, scale=cat_scale[cat_of] * within, half=half, slope=slope,
        coefficient=coef, price_coef=price_coef, log_price_dev=u, beta=beta, category_scale=cat_scale,
        season_coefs=seasons, node_allocation=alloc[:, cat_of] * within[None, :],
    )


def _calibrate_price(rest: np.ndarray, u: np.ndarray, target: float) -> float:
    """Price coefficient ``a`` whose mean elasticity ``-a / (rest - a u)`` over days and nodes is ``target``.

    That mean grows monotonically in ``a`` while the level stays positive, so bisection finds
    the one coefficient that hits the target.
    """
    def mean_elasticity(a: float) -> float:
        return float(np.mean(a / (rest[:, None] - a * u)))

    up = u > 0
    limit = float(np.min(rest[:, None].repeat(u.shape[1], 1)[up] / u[up])) if up.any() else 50.0
    lo, hi = 0.0, 0.8 * limit
    if mean_elasticity(hi) < -target:
        raise ValueError(f"own-price elasticity {target} cannot be reached while sales stay positive")
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if mean_elasticity(mid) < -target else (lo, mid)
    return sig(0.5 * (lo + hi), 5)
