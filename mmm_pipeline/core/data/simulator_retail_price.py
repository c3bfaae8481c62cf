"""A daily retailer whose categories span inelastic to elastic demand, with known truth.

The embedded ``retail_daily`` simulator draws every own-price elasticity from one elastic band,
so a method that assumes "price lowers revenue" passes on it by construction. This one is built to
break that assumption: five categories with units elasticities from -0.3 (revenue rises with
price) to -3, discount depth with diminishing returns, sale events that pull demand forward (a
dip in the days before and after), cross-price effects between categories, digital media at
daily grain and TV monthly. Demand is generated on the log scale, revenue through the identity
revenue = list price x (1 - discount) x units, so the true revenue elasticity of a list-price
change with the discount held is the units elasticity + 1.

:func:`simulate_price_retail` returns the modelling table in the pipeline's contract layout
(date, node, category, gmv, spend, list_price, discount, units, event flag), the matching
:class:`DatasetConfig` and the truth; nothing is written to disk, and ``retail_daily`` is
untouched.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mmm_pipeline.core.config import DatasetConfig, deep_merge, load_defaults

#: (category, true units elasticity): from inelastic to elastic
CATEGORIES: tuple[tuple[str, float], ...] = (
    ("Groceries", -0.3), ("Books", -0.8), ("Home", -1.2), ("Fashion", -2.0), ("Electronics", -3.0),
)
SUBCATEGORIES = ("A", "B")
CHANNELS = (("Search", "daily", 4.0e4), ("Social", "daily", 2.5e4), ("TV", "monthly", 9.0e5))
SALE_LIFT, PULL_FORWARD, PULL_DAYS = 0.35, 0.12, 3  # log-units lift on sale days, dip on the days around


@dataclass
class PriceTruth:
    """What the simulator put in, per category (every sub-category shares its category's)."""

    units_elasticity: dict[str, float]
    discount_effect: float  # log units at full saturation of the discount curve
    cross_price: dict[str, float]  # d log units / d log(other categories' price index)
    sale_lift: float = SALE_LIFT
    pull_forward: float = PULL_FORWARD
    nodes: dict[str, str] = field(default_factory=dict)  # node -> category

    @property
    def revenue_elasticity(self) -> dict[str, float]:
        return {c: e + 1.0 for c, e in self.units_elasticity.items()}


def _sale_days(dates: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    """About one three-day sale event a month, never at the very start or end."""
    flag = np.zeros(len(dates), dtype=bool)
    for start in range(10, len(dates) - 10, 30):
        first = start + int(rng.integers(0, 15))
        flag[first : first + 3] = True
    return flag


def _around(flag: np.ndarray, days: int) -> np.ndarray:
    """Days within ``days`` of a flagged day but not flagged themselves."""
    near = np.zeros_like(flag)
    for shift in range(1, days + 1):
        near[shift:] |= flag[:-shift]
        near[:-shift] |= flag[shift:]
    return near & ~flag


def _list_price(rng: np.random.Generator, n_days: int, base: float) -> np.ndarray:
    """A list price repriced every week, a few percent either side of its base (no drift, so the
    price moves faster than season or trend and its effect is identified)."""
    weeks = -(-n_days // 7)
    steps = np.exp(rng.normal(0.0, 0.07, weeks))
    return np.round(base * np.repeat(steps, 7)[:n_days], 2)


def _spend(rng: np.random.Generator, dates: pd.DatetimeIndex, grain: str, level: float) -> np.ndarray:
    """Bursty daily spend, or a monthly budget spread evenly over its days."""
    if grain == "daily":
        on = rng.random(len(dates)) < 0.75
        return np.round(np.where(on, level * rng.lognormal(0.0, 0.5, len(dates)), 0.0), 2)
    months = dates.to_period("M")
    budget = {m: level * rng.lognormal(0.0, 0.6) * (rng.random() < 0.8) for m in months.unique()}
    return np.round(np.array([budget[m] / m.days_in_month for m in months]), 2)


def simulate_price_retail(seed: int = 0, n_days: int = 365, noise_sd: float = 0.05,
                          start: str = "2023-01-01") -> tuple[pd.DataFrame, DatasetConfig, PriceTruth]:
    """The modelling table, its config and the truth for one draw (see the module docstring)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=n_days, freq="D")
    t = np.arange(n_days)
    sale = _sale_days(dates, rng)
    near_sale = _around(sale, PULL_DAYS)
    spend = {name: _spend(rng, dates, grain, level) for name, grain, level in CHANNELS}
    media = sum(0.08 * np.log1p(_adstock(spend[name], 0.5) / level) for name, _, level in CHANNELS)
    season = 0.1 * np.sin(2 * np.pi * (t + 30) / 365.25) + 0.05 * (dates.dayofweek >= 5)
    prices, discounts = {}, {}
    for k, (cat, _) in enumerate(CATEGORIES):
        for sub in SUBCATEGORIES:
            node = f"{cat} {sub}"
            prices[node] = _list_price(rng, n_days, base=200.0 * (k + 1) * (1.5 if sub == "B" else 1.0))
            depth = np.clip(rng.normal(0.10, 0.04, n_days), 0.0, 0.5)
            discounts[node] = np.round(np.where(sale, depth + 0.15, depth), 4)
    index = {cat: np.mean([np.log(prices[f"{cat} {s}"] * (1 - discounts[f"{cat} {s}"])) for s in SUBCATEGORIES], 0)
             for cat, _ in CATEGORIES}
    cross = {cat: (0.3 if k % 2 else 0.0) for k, (cat, _) in enumerate(CATEGORIES)}
    truth = PriceTruth({c: e for c, e in CATEGORIES}, discount_effect=0.6, cross_price=cross)
    rows = []
    for k, (cat, elasticity) in enumerate(CATEGORIES):
        others = np.mean([index[c] - index[c].mean() for c, _ in CATEGORIES if c != cat], 0)
        for sub in SUBCATEGORIES:
            node = f"{cat} {sub}"
            truth.nodes[node] = cat
            log_price = np.log(prices[node] / np.exp(np.mean(np.log(prices[node]))))
            log_units = (np.log(400.0 / (k + 1)) + elasticity * log_price
                         + truth.discount_effect * (1 - np.exp(-discounts[node] / 0.15))
                         + cross[cat] * others + season + media
                         + SALE_LIFT * sale - PULL_FORWARD * near_sale + rng.normal(0.0, noise_sd, n_days))
            units = np.round(np.exp(log_units) * 10.0)
            rows.append(pd.DataFrame({"date": dates, "node": node, "category": cat, "list_price": prices[node],
                                      "discount": discounts[node], "units": units,
                                      "gmv": np.round(units * prices[node] * (1 - discounts[node]), 2)}))
    national = pd.DataFrame({"date": dates, **spend, "special_sale": sale.astype(float)})
    table = pd.concat(rows).merge(national, on="date").sort_values(["date", "node"]).reset_index(drop=True)
    order = ["date", "node", "category", "gmv", *spend, "list_price", "discount", "units", "special_sale"]
    return table[order], price_config(), truth


def _adstock(x: np.ndarray, decay: float) -> np.ndarray:
    out = np.zeros_like(x, dtype=float)
    for i, v in enumerate(x):
        out[i] = v + (decay * out[i - 1] if i else 0.0)
    return out * (1 - decay)


def price_config(**settings) -> DatasetConfig:
    """The in-memory dataset config of the simulated table (no file is read)."""
    raw = {
        "name": "price_retail", "title": "simulated retailer: inelastic to elastic categories", "simulated": True,
        "frequency": "daily",
        "sources": {"main": {"path": "in_memory.csv", "date": {"column": "date"}, "frequency": "daily"},
                    "media": {"path": "in_memory.csv", "date": {"column": "date"}, "frequency": "daily",
                              "kind": "media"}},
        "target": {"name": "gmv", "column": "gmv"},
        "channels": [{"name": name, "spend": name, "source": "media"} for name, _, _ in CHANNELS],
        "events": [{"name": "special_sale", "column": "special_sale"}],
        "price": {"list_price": "list_price", "discount": "discount", "units": "units"},
        "hierarchy": {"category": "category", "subcategory": "node"},
    }
    return DatasetConfig(**raw, settings=deep_merge(load_defaults(), settings))
