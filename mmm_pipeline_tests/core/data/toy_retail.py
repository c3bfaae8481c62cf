"""A small retailer dataset written to disk in the messy formats the loaders must handle.

Daily sales for three sub-categories in two categories, monthly media in crores with a total
column and a dark channel left blank, monthly NPS with M/D/YYYY dates and a special-sale
calendar. Values are chosen so the expected modelling table can be computed by hand.
"""

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmm_pipeline.core.config import DatasetConfig, deep_merge, load_defaults

START, END = "2016-01-01", "2016-04-30"
MONTHS = pd.date_range(START, END, freq="MS")
TV_CRORE = [3.1, 6.2, 0.0, 9.3]  # per month; March dark on TV
SEARCH_CRORE = [1.0, 2.0, 3.0, 4.0]
RADIO_CRORE = [None, 0.5, None, 1.5]  # blank = dark month, filled with zero by config
NPS = [50.0, 54.0, 46.0, 48.0]
SALE_DAYS = ["1/15/2016", "1/16/2016", "3/10/2016"]
NODES = [("Audio", "Headphones", 2000.0), ("Audio", "Speakers", 5000.0), ("Camera", "Lens", 20000.0)]


def toy_sales(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.date_range(START, END, freq="D")
    rows = []
    for cat, sub, mrp in NODES:
        units = rng.integers(5, 50, len(days)).astype(float)
        discount = np.round(rng.uniform(0.05, 0.4, len(days)), 4)
        price = np.round(mrp * (1 + 0.1 * np.sin(np.arange(len(days)) / 9.0)))
        gmv = np.round(units * price * (1 - discount), 2)
        rows.append(pd.DataFrame({"order_date": days.strftime("%Y-%m-%d"), "product_category": cat,
                                  "product_subcategory": sub, "gmv": gmv, "units": units, "mrp": price,
                                  "discount": discount}))
    return pd.concat(rows, ignore_index=True)


def write_toy_files(folder: Path, seed: int = 0) -> dict[str, Path]:
    """Sales (shuffled rows), media (CRLF, padded headers, blanks), NPS and a sale calendar."""
    folder.mkdir(parents=True, exist_ok=True)
    sales = toy_sales(seed).sample(frac=1.0, random_state=seed)  # out of order on purpose
    paths = {"main": folder / "sales.csv", "media": folder / "media.csv", "nps": folder / "nps.csv",
             "special_sale": folder / "sale.csv"}
    sales.to_csv(paths["main"], index=False)
    lines = ["Year,Month,Total Investment, TV ,Search, Radio"]
    for m, tv, se, ra in zip(MONTHS, TV_CRORE, SEARCH_CRORE, RADIO_CRORE):
        total = round(tv + se + (ra or 0.0), 1)
        lines.append(f"{m.year},{m.month},{total},{tv},{se},{'' if ra is None else ra}")
    lines[1], lines[3] = lines[3], lines[1]  # months out of order
    paths["media"].write_bytes(("\r\n".join(lines) + "\r\n").encode())
    nps = [f"{m.month}/1/{m.year},{v}" for m, v in zip(MONTHS, NPS)]
    paths["nps"].write_text("Date,NPS\n" + "\n".join(nps) + "\n")
    paths["special_sale"].write_text("Date,Sales Name\n" + "\n".join(f"{d},Promo" for d in SALE_DAYS) + "\n")
    return paths


def toy_config(paths: dict[str, Path], **overrides: Any) -> DatasetConfig:
    raw: dict[str, Any] = {
        "name": "toy_retail", "title": "toy", "simulated": True, "frequency": "daily",
        "sources": {
            "main": {"path": str(paths["main"]), "date": {"column": "order_date", "format": "%Y-%m-%d"},
                     "frequency": "daily", "kind": "fact"},
            "media": {"path": str(paths["media"]), "date": {"year_column": "Year", "month_column": "Month"},
                      "frequency": "monthly", "kind": "media", "unit_multiplier": 1.0e7,
                      "required_columns": ["Total Investment"]},
            "nps": {"path": str(paths["nps"]), "date": {"column": "Date", "format": "%m/%d/%Y"},
                    "frequency": "monthly", "kind": "brand"},
            "special_sale": {"path": str(paths["special_sale"]), "date": {"column": "Date", "format": "%m/%d/%Y"},
                             "frequency": "daily", "kind": "calendar", "name_column": "Sales Name"},
        },
        "target": {"name": "gmv", "column": "gmv"},
        "channels": [{"name": "TV", "spend": "TV", "source": "media"},
                     {"name": "Search", "spend": "Search", "source": "media"},
                     {"name": "Radio", "spend": "Radio", "source": "media", "fill": "zero"}],
        "brand": [{"name": "nps", "column": "NPS", "source": "nps", "kind": "free"}],
        "events": [{"name": "special_sale", "source": "special_sale"}],
        "price": {"list_price": "mrp", "discount": "discount", "discount_kind": "fraction", "units": "units"},
        "hierarchy": {"category": "product_category", "subcategory": "product_subcategory", "level": "subcategory"},
    }
    settings = overrides.pop("settings", {})
    raw = deep_merge(raw, overrides)
    raw["settings"] = deep_merge(load_defaults(), settings)
    return DatasetConfig(**raw)


def with_source_path(config: DatasetConfig, source: str, path: Path) -> DatasetConfig:
    """A copy of ``config`` reading ``source`` from ``path`` (for broken copies of real files)."""
    sources = dict(config.sources)
    sources[source] = sources[source].model_copy(update={"path": str(path)})
    return config.model_copy(update={"sources": sources})
