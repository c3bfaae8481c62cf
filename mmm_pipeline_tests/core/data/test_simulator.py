"""The simulator: reproducible files in the documented formats, and a truth that is self-consistent.

The truth is what every recovery test and benchmark scores against, so these tests check it
from the outside: re-evaluating the shipped spend with the truth file alone must reproduce the
stored contributions, components must add to the noiseless target, and the weekly shape must
be identifiable by a fit that knows the functional form.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import least_squares

from mmm_pipeline.core.config import PROJECT_ROOT, load_dataset_config
from mmm_pipeline.core.data.simulator import (
    TrueModel,
    adstock,
    geometric_weights,
    hill,
    load_truth,
    main,
    simulate_retail_daily,
    simulate_weekly,
    write_simulation,
)

SHIPPED = PROJECT_ROOT / "data" / "retail_daily"


@pytest.fixture(scope="module")
def retail():
    return simulate_retail_daily()


@pytest.fixture(scope="module")
def weekly():
    return simulate_weekly(seed=1)


# --- reproducibility -------------------------------------------------------------------------


def test_shipped_retail_daily_regenerates_byte_identically(retail, tmp_path):
    written = write_simulation(retail, tmp_path)
    shipped = sorted(p.name for p in SHIPPED.iterdir())
    assert shipped == sorted(p.name for p in tmp_path.iterdir()), "data/retail_daily holds other files"
    for name in shipped:
        assert (tmp_path / name).read_bytes() == (SHIPPED / name).read_bytes(), (
            f"{name} differs from the shipped copy: rerun `python -m mmm_pipeline simulate retail_daily`"
        )
    assert set(written) >= {"truth.json", "truth_contributions.csv", "LICENSE"}


def test_weekly_seed_reproduces_and_seeds_differ(weekly):
    again = simulate_weekly(seed=1)
    pd.testing.assert_frame_equal(weekly.tables["weekly.csv"], again.tables["weekly.csv"])
    assert weekly.truth == again.truth
    other = simulate_weekly(seed=2)
    assert not np.allclose(weekly.spend, other.spend)
    decays = [[s.truth["media"][c]["adstock"]["decay"] for c in s.channels] for s in (weekly, other)]
    assert decays[0] != decays[1], "the seed should draw the true parameters too"


# --- retail_daily file formats ---------------------------------------------------------------


def test_retail_sales_file_format():
    sales = pd.read_csv(SHIPPED / "sales_daily.csv")
    assert list(sales.columns) == ["order_date", "product_category", "product_subcategory", "gmv", "units", "mrp",
                                   "discount"]
    dates = pd.to_datetime(sales["order_date"], format="%Y-%m-%d")
    assert dates.min() == pd.Timestamp("2022-07-01") and dates.max() == pd.Timestamp("2025-06-30")
    subs = sales.groupby("product_category")["product_subcategory"].nunique()
    assert len(subs) == 3 and subs.between(2, 3).all()
    assert not sales.duplicated(["order_date", "product_subcategory"]).any()
    assert len(sales) == dates.nunique() * sales["product_subcategory"].nunique() == 1096 * subs.sum()
    assert sales["discount"].between(0, 1).all() and (sales["units"] > 0).all() and (sales["mrp"] > 0).all()
    implied = sales["units"] * sales["mrp"] * (1 - sales["discount"])
    assert np.allclose(sales["gmv"], implied, atol=0.0051, rtol=0)
    # prices move: discount every day, MRP now and then, and deeper on sale days
    per_node = sales.pivot(index="order_date", columns="product_subcategory", values="discount")
    assert (per_node.diff().abs() > 0).mean().min() > 0.5
    mrp = sales.pivot(index="order_date", columns="product_subcategory", values="mrp")
    assert ((mrp.diff().abs() > 0).sum() >= 5).all()
    sale_days = pd.to_datetime(pd.read_csv(SHIPPED / "special_sale.csv")["Date"], format="%m/%d/%Y")
    on_sale = pd.to_datetime(per_node.index).isin(sale_days)
    assert (per_node[on_sale].mean() > per_node[~on_sale].mean() + 0.05).all()


def test_retail_media_nps_and_calendar_formats():
    media = pd.read_csv(SHIPPED / "media_investment.csv")
    channels = ["TV", "Digital", "Sponsorship", "Content Marketing", "Online marketing", "Affiliates", "SEM",
                "Radio", "Other"]
    assert list(media.columns) == ["Year", "Month", "Total Investment", *channels]
    assert len(media) == 36 and (media["Year"] * 12 + media["Month"]).diff().dropna().eq(1).all()
    total = media[channels].fillna(0).sum(axis=1)
    assert np.allclose(media["Total Investment"], total.round(1), atol=1e-9)
    for dark in ("Radio", "Other"):
        blank = media[dark].isna()
        assert blank.mean() > 0.5 and (~blank).sum() >= 2, f"{dark} should be dark (blank) in most months only"
    assert media[channels[:7]].notna().all().all(), "always-reported channels must not be blank"
    assert ((media[channels].fillna(0) * 10).round(6) % 1 == 0).all().all(), "spend is in crores to 0.1"

    nps = pd.read_csv(SHIPPED / "monthly_nps.csv")
    assert list(nps.columns) == ["Date", "NPS"] and len(nps) == 36
    assert (pd.to_datetime(nps["Date"], format="%m/%d/%Y").dt.day == 1).all()
    assert not nps["Date"].str.startswith("0").any(), "M/D/YYYY without leading zeros, as in DT Mart"

    sale = pd.read_csv(SHIPPED / "special_sale.csv")
    assert list(sale.columns) == ["Date", "Sales Name"]
    days = pd.to_datetime(sale["Date"], format="%m/%d/%Y")
    assert days.is_monotonic_increasing and not days.duplicated().any()
    per_sale = sale.groupby("Sales Name").size()
    assert "Big Diwali Sale" in per_sale and per_sale.min() >= 2 and len(per_sale) >= 8


def test_retail_config_points_at_the_shipped_files():
    config = load_dataset_config("retail_daily")
    for name, source in config.sources.items():
        frame = pd.read_csv(config.source_path(name), nrows=2)
        missing = set(source.required_columns) - set(frame.columns)
        assert not missing, f"{source.path} lacks {missing}"
    media = pd.read_csv(config.source_path("media"), nrows=1)
    assert {c.spend for c in config.channels} <= set(media.columns)
    assert (PROJECT_ROOT / config.truth_file).is_file() and (PROJECT_ROOT / config.licence).is_file()
    assert "Apache" in (PROJECT_ROOT / config.licence).read_text()


# --- truth consistency -----------------------------------------------------------------------


def test_components_add_to_noiseless_target(retail, weekly):
    for sim in (retail, weekly):
        total = sum(sim.components.values())
        np.testing.assert_allclose(total, sim.target_noiseless, rtol=1e-10)
        table = sim.contributions
        target = table.columns[2]  # <target>_noiseless
        parts = table.drop(columns=["date", table.columns[1], target, "media_total"])
        unit = 1.0 if sim.shape == "retail_daily" else 0.01  # retail: whole rupees; weekly: cents
        rounding = 0.5 * unit * (parts.shape[1] + 1)
        np.testing.assert_allclose(parts.sum(axis=1), table[target], rtol=0, atol=rounding)
        np.testing.assert_allclose(table[sim.channels].sum(axis=1), table["media_total"], rtol=0, atol=rounding)
    shipped = pd.read_csv(SHIPPED / "truth_contributions.csv")
    parts = shipped.drop(columns=["date", "gmv_observed", "gmv_noiseless", "media_total"])
    np.testing.assert_allclose(parts.sum(axis=1), shipped["gmv_noiseless"], rtol=0, atol=0.5 * 16)
    observed = pd.read_csv(SHIPPED / "sales_daily.csv").groupby("order_date")["gmv"].sum()
    np.testing.assert_allclose(observed.to_numpy(), shipped["gmv_observed"], rtol=0, atol=0.51)


def test_retail_media_design_is_plausible():
    truth = json.loads((SHIPPED / "truth.json").read_text())
    assert 0.15 <= truth["totals"]["media_share"] <= 0.35
    assert all(0.15 <= s <= 0.35 for s in truth["totals"]["media_share_by_category"].values())
    roas = {c: truth["media"][c]["roas"] for c in truth["channels"]}
    assert min(roas.values()) <= 0.35 and max(roas.values()) >= 3.5
    saturated = [c for c in roas if truth["media"][c]["saturation_at_mean_nonzero_spend"] > 0.7]
    assert len(saturated) >= 2
    for c in truth["channels"]:
        m = truth["media"][c]
        assert m["roas"] == pytest.approx(m["total_contribution"] / m["total_spend"], rel=1e-5)
        assert sum(m["node_allocation"].values()) == pytest.approx(1.0, abs=1e-8)
    shares = sum(truth["media"][c]["share_of_media"] for c in truth["channels"])
    assert shares == pytest.approx(1.0, abs=1e-4)
    own = truth["elasticity"]["own_price"]["by_node"]
    assert all(-2.4 <= e <= -0.9 for e in own.values())
    assert max(own.values()) - min(own.values()) > 0.8, "categories should differ in price sensitivity"


def _daily_spend_from_media_file(truth: dict) -> np.ndarray:
    media = pd.read_csv(SHIPPED / "media_investment.csv")
    months = pd.to_datetime(dict(year=media["Year"], month=media["Month"], day=1))
    days = pd.date_range(truth["start"], truth["end"], freq="D")
    monthly = media.set_index(months)[truth["channels"]].fillna(0.0) * 1e7
    per_day = monthly.reindex(days.to_period("M").to_timestamp()).to_numpy()
    return per_day / days.days_in_month.to_numpy()[:, None]


def test_truth_file_reproduces_stored_contributions_from_the_input_files():
    true = load_truth(SHIPPED)
    spend = _daily_spend_from_media_file(true.truth)
    stored = pd.read_csv(SHIPPED / "truth_contributions.csv")
    # stored in whole rupees
    np.testing.assert_allclose(true.channel_contributions(spend), stored[true.channels].to_numpy(), rtol=1e-9,
                               atol=0.51)
    np.testing.assert_allclose(true.media_contribution(spend), stored["media_total"], rtol=1e-9, atol=0.51)
    by_month = pd.DataFrame(true.truth["contributions"]["by_month"]).set_index("month")
    monthly = stored.groupby(stored["date"].str[:7])[true.channels].sum()
    np.testing.assert_allclose(by_month[true.channels], monthly, rtol=1e-9, atol=1.0)
    for i, c in enumerate(true.channels):
        assert true.roas[c] == pytest.approx(stored[c].sum() / spend[:, i].sum(), rel=1e-5)


def test_weekly_truth_file_reproduces_contributions(weekly, tmp_path):
    write_simulation(weekly, tmp_path)
    true = TrueModel.load(tmp_path / "truth.json")
    frame = pd.read_csv(tmp_path / "weekly.csv")
    spend = frame[[true.truth["media"][c]["spend_column"] for c in true.channels]].to_numpy()
    stored = pd.read_csv(tmp_path / "truth_contributions.csv")
    np.testing.assert_allclose(true.channel_contributions(spend), stored[true.channels], rtol=1e-9, atol=0.011)


def test_stored_elasticity_is_the_finite_difference_of_the_full_model(retail):
    """d log y / d log p from the per-node components, re-pricing with the truth's price response."""
    truth = retail.truth
    nodes = retail.nodes
    sales = retail.tables["sales_daily.csv"]
    price = (sales["mrp"] * (1 - sales["discount"])).to_numpy().reshape(len(retail.dates), len(nodes))
    scale = np.array([truth["node_scale_inr_per_day"][n] for n in nodes])
    coef = np.array([truth["price_response"]["coefficient_by_category"][truth["node_category"][n]] for n in nodes])
    p_ref = np.array([truth["price_response"]["reference_price_by_node"][n] for n in nodes])

    def price_part(p: np.ndarray) -> np.ndarray:
        return scale * -coef * np.log(p / p_ref)

    # the truth's price response, applied to the prices in the file, is the stored price component
    np.testing.assert_allclose(retail.components["price"], price_part(price), rtol=0, atol=1e-4 * scale.max())
    rest = retail.target_noiseless - retail.components["price"]
    h = 1e-4
    fd = (np.log(rest + price_part(price * np.exp(h))) - np.log(rest + price_part(price * np.exp(-h)))) / (2 * h)
    stored = np.array([truth["elasticity"]["own_price"]["by_node"][n] for n in nodes])
    np.testing.assert_allclose(fd.mean(axis=0), stored, rtol=1e-3)
    targets = truth["elasticity"]["own_price"]["design_target_by_category"]
    for n, e in zip(nodes, stored):
        assert e == pytest.approx(targets[truth["node_category"][n]], abs=0.15)


def test_response_curves_increase_and_are_concave_beyond_the_inflection(retail, weekly):
    for sim in (retail, weekly):
        true = sim.true_model
        for c in true.channels:
            entry = sim.truth["media"][c]
            grid = np.array(entry["response_curve"]["spend"])
            curve = true.response_curve(c, grid)
            np.testing.assert_allclose(curve, entry["response_curve"]["contribution"], rtol=1e-5, atol=1e-6)
            assert curve[0] == 0 and np.all(np.diff(curve) > 0), f"{c}: curve must increase"
            beyond = grid >= entry["saturation"]["inflection_spend"]
            assert np.all(np.diff(curve[beyond], 2) < 1e-9 * curve.max()), f"{c}: not concave past the inflection"
            mroas = true.marginal_roas(c, grid[1:])
            assert np.all(np.diff(mroas[grid[1:] >= entry["saturation"]["inflection_spend"]]) <= 1e-12)


def test_true_model_carries_adstock_over_from_history(weekly):
    true = weekly.true_model
    history, plan = weekly.spend[:40], weekly.spend[40:60]
    with_history = true.media_contribution(plan, history=history)
    whole = true.media_contribution(np.vstack([history, plan]))[40:]
    np.testing.assert_allclose(with_history, whole, rtol=1e-12)
    assert with_history[0] > true.media_contribution(plan)[0], "carry-over should add to the first period"
    assert not np.allclose(with_history, true.media_contribution(plan))


def test_true_model_rejects_bad_spend(weekly):
    true = weekly.true_model
    with pytest.raises(ValueError, match=r"shape \[T, 5\].*tv"):
        true.media_contribution(np.ones((10, 3)))
    bad = np.ones((10, 5))
    bad[3, 1] = -1.0
    with pytest.raises(ValueError, match=r"row\(s\) 3$"):
        true.channel_contributions(bad)
    with pytest.raises(KeyError, match="no channel 'tiktok'"):
        true.response_curve("tiktok", np.ones(3))


def test_transforms_behave():
    w = geometric_weights(np.array([0.0, 0.5]), 4)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(w[0], [1, 0, 0, 0])
    pulse = np.zeros((6, 2))
    pulse[1] = 1.0
    out = adstock(pulse, w)
    np.testing.assert_allclose(out[1:5, 1], w[1])
    assert hill(np.array([2.0]), 2.0, 1.7)[0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="decay"):
        geometric_weights(1.2, 4)


# --- weekly shape ----------------------------------------------------------------------------


def test_weekly_frame_and_truth(weekly):
    frame = weekly.tables["weekly.csv"]
    dates = pd.to_datetime(frame["date"])
    assert (dates.dt.dayofweek == 0).all() and len(frame) == 156
    assert set(frame["promo_event"]) == {0, 1}
    decays = [weekly.truth["media"][c]["adstock"]["decay"] for c in weekly.channels]
    assert all(0.1 <= d <= 0.8 for d in decays) and max(decays) - min(decays) > 0.3
    assert 0.2 <= weekly.truth["totals"]["media_share"] <= 0.4
    assert sum(weekly.truth["media"][c]["share_of_media"] for c in weekly.channels) == pytest.approx(1, abs=1e-4)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_weekly_spend_is_flighted_and_correlated(seed):
    spend = simulate_weekly(seed=seed).spend
    zero = (spend == 0).mean(axis=0)
    assert (zero >= 0.04).all(), f"every channel needs dark weeks, got {zero.round(2)}"
    assert (zero >= 0.3).sum() >= 3, "flighted channels should be dark in many weeks"
    logs = np.where(spend > 0, np.log(np.maximum(spend, 1e-9)), np.nan)
    corr = pd.DataFrame(logs).corr(min_periods=20).to_numpy()
    pairs = corr[np.triu_indices(spend.shape[1], 1)]
    # flights are planned per channel, but a shared seasonal budget moves the on-air levels together
    assert np.nanmean(pairs) > 0.2 and np.nanmax(pairs) > 0.45, f"on-air spend correlations {pairs.round(2)}"


def test_weekly_dataset_yaml_loads_as_a_dataset_config(weekly, tmp_path):
    written = write_simulation(weekly, tmp_path / "sim", dataset_yaml=tmp_path / "sim_weekly.yaml")
    config = load_dataset_config(str(written["dataset_yaml"]))
    assert config.frequency == "weekly" and config.channel_names == weekly.channels
    assert Path(config.truth_file).is_file() and config.source_path("main").is_file()
    frame = pd.read_csv(config.source_path("main"))
    assert set(config.sources["main"].required_columns) <= set(frame.columns)


def test_retail_dataset_yaml_for_a_regenerated_copy(retail, tmp_path):
    written = write_simulation(retail, tmp_path / "copy", dataset_yaml=tmp_path / "retail_copy.yaml")
    config = load_dataset_config(str(written["dataset_yaml"]))
    shipped = load_dataset_config("retail_daily")
    assert config.source_path("main") == (tmp_path / "copy" / "sales_daily.csv").resolve()
    assert config.channels == shipped.channels and config.price == shipped.price
    assert config.hierarchy == shipped.hierarchy and config.events == shipped.events


def test_weekly_rejects_bad_arguments():
    with pytest.raises(ValueError, match="Monday"):
        simulate_weekly(start="2022-01-04")
    with pytest.raises(ValueError, match="52 weeks"):
        simulate_weekly(n_weeks=20)


def test_cli_writes_a_weekly_dataset(tmp_path, capsys):
    out = tmp_path / "w"
    code = main(["simulate", "weekly", "--seed", "4", "--weeks", "80", "--out", str(out),
                 "--dataset-yaml", str(tmp_path / "w.yaml")])
    assert code == 0
    assert len(pd.read_csv(out / "weekly.csv")) == 80
    assert json.loads((out / "truth.json").read_text())["seed"] == 4
    assert "ROAS" in capsys.readouterr().out
    assert main(["retail_daily", "--weeks", "10", "--out", str(tmp_path / "r")]) == 2
    assert not (tmp_path / "r").exists()


# --- identifiability -------------------------------------------------------------------------


def _oracle_fit(sim) -> tuple[np.ndarray, np.ndarray]:
    """Least squares with the true functional form (decay, Hill per channel; linear rest)."""
    frame = sim.tables["weekly.csv"]
    y, spend = frame["revenue"].to_numpy(), sim.spend
    n_t, n_c = spend.shape
    doy = sim.dates.dayofyear.to_numpy() + 3
    angles = [2 * np.pi * k * doy / 365.25 for k in (1, 2)]
    comp = frame["competitor_sales"].to_numpy(float)
    linear = np.column_stack([np.ones(n_t), np.arange(n_t), *map(np.sin, angles), *map(np.cos, angles),
                              (comp - comp.mean()) / comp.std(), frame["promo_event"]])
    mean_on = np.array([spend[spend[:, i] > 0, i].mean() for i in range(n_c)])

    def design(theta):
        sat = hill(adstock(spend, geometric_weights(theta[:n_c], 8)), np.exp(theta[n_c:2 * n_c]) * mean_on,
                   theta[2 * n_c:])
        return np.column_stack([linear, sat])

    def resid(theta):
        a = design(theta)
        return (a @ np.linalg.lstsq(a, y, rcond=None)[0] - y) / y.std()

    lo = np.r_[np.zeros(n_c), np.full(n_c, np.log(0.1)), np.full(n_c, 0.5)]
    hi = np.r_[np.full(n_c, 0.9), np.full(n_c, np.log(5.0)), np.full(n_c, 3.0)]
    rng = np.random.default_rng(0)
    best = min((least_squares(resid, rng.uniform(lo + 0.05 * (hi - lo), hi - 0.05 * (hi - lo)), bounds=(lo, hi))
                for _ in range(3)), key=lambda r: r.cost)
    a = design(best.x)
    contributions = a[:, -n_c:] * np.linalg.lstsq(a, y, rcond=None)[0][-n_c:]
    return best.x[:n_c], contributions.sum(axis=0) / contributions.sum()


def test_weekly_default_is_identifiable_by_a_fit_that_knows_the_form(weekly):
    """A lower bound on difficulty: if even this misses, no model can pass a recovery test."""
    decay, share = _oracle_fit(weekly)
    true_decay = np.array([weekly.truth["media"][c]["adstock"]["decay"] for c in weekly.channels])
    true_share = np.array([weekly.truth["media"][c]["share_of_media"] for c in weekly.channels])
    assert np.abs(decay - true_decay).max() <= 0.15
    assert np.abs(share - true_share).max() <= 0.05
