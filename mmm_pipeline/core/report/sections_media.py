"""Report sections on drivers: decomposition, ROAS, saturation, carry-over, price, hierarchy.

A not-identified channel is shown with its range and flag only, never a point estimate.
"""

import pandas as pd

from mmm_pipeline.core.infer.price import active_bound_lines
from mmm_pipeline.core.report import charts_media
from mmm_pipeline.core.report.chart_style import SUPPORT_PALETTE
from mmm_pipeline.core.report.context import Context, estimate_cell
from mmm_pipeline.core.report.derived import node_categories, price_elasticity_split
from mmm_pipeline.core.report.formatting import DASH, fmt_amount, fmt_interval, fmt_pct, sentence
from mmm_pipeline.core.report.inputs import ReportInputs, finite_or_none
from mmm_pipeline.core.report.markup import badge, esc, figure, note, section, table, unavailable


def decomposition(ctx: Context) -> str:
    frame = ctx.inputs.decomposition
    drivers = ctx.inputs.decomposition_drivers
    if frame is None or not drivers:
        body = unavailable(ctx.inputs.unavailable("decomposition.csv")) + ctx.extras("decomposition")
        return section("decomposition", "Revenue decomposition", body)
    colours = {**_driver_colours(drivers, ctx.colours), **ctx.colours}
    body = figure(charts_media.decomposition_chart(frame, drivers, colours), "stacked decomposition over time")
    body += figure(charts_media.waterfall_chart(frame, drivers, colours), "contribution waterfall")
    body += note(
        "Non-media drivers (price, season, brand) are measured against their average level over the training "
        "window, so they can be negative: a period with above-average prices loses revenue to price."
    )
    body += _decomposition_table(frame, drivers) + ctx.extras("decomposition")
    lead = "How much of each period's revenue the model attributes to each driver, and over the whole window."
    return section("decomposition", "Revenue decomposition", body, lead)


def _driver_colours(drivers: list[str], channel_colours: dict[str, str]) -> dict[str, str]:
    """Muted tones for non-media drivers, so the channels' strong colours stand out."""
    others = [d for d in drivers if d not in channel_colours]
    return {d: SUPPORT_PALETTE[i % len(SUPPORT_PALETTE)] for i, d in enumerate([*others, "other drivers"])}


def _decomposition_table(frame: pd.DataFrame, drivers: list[str]) -> str:
    totals = frame[["base", *drivers]].sum()
    predicted = float(frame["predicted"].sum())
    order = ["base", *totals[drivers].abs().sort_values(ascending=False).index]
    rows = [[esc(d), fmt_amount(totals[d]), fmt_pct(totals[d] / predicted if predicted else None)] for d in order]
    return table(["driver", "total contribution", "share of predicted"], rows, numeric=(1, 2))


def roas(ctx: Context) -> str:
    rows = ctx.rows
    if not rows:
        body = unavailable(ctx.inputs.unavailable("channels.json")) + ctx.extras("roas")
        return section("roas", "Return on ad spend", body)
    body = figure(charts_media.roas_chart(rows, ctx.colours), "ROAS per channel with intervals")
    mediated = any(r.direct_roas is not None for r in rows)
    table_rows = [
        [esc(r.name), fmt_amount((r.spend or {}).get("mean")), estimate_cell(r, r.contribution, fmt_amount),
         estimate_cell(r, r.roas), *([estimate_cell(r, r.direct_roas)] if mediated else []), estimate_cell(r, r.mroas),
         fmt_pct(r.prior_share, 0), badge("identified", "good") if r.identified else badge("not identified", "warn"),
         esc(r.reason)]
        for r in rows
    ]
    headers = ["channel", "spend", "contribution", "ROAS (total)" if mediated else "ROAS",
               *(["ROAS (direct)"] if mediated else []), "marginal ROAS", "from assumptions", "status", "why"]
    caption = f"Over the whole window; ranges are the {ctx.interval_label}"
    body += table(headers, table_rows, numeric=(1, 2, 3, 4, 5) if mediated else (1, 2, 3, 4), caption=caption)
    body += note("ROAS is revenue per unit of spend on average; marginal ROAS is what the next unit at today's spend "
                 "returns. Below 1, extra spend does not pay for itself in revenue. Ranges are never narrower than "
                 "what the information in the sales history supports; 'from assumptions' is the share of a ROAS's "
                 "precision that the model's regularisation, bounds and priors supply rather than the data — above "
                 "half, the channel is not called identified.")
    body += _roles(ctx.summary.get("roles") or {}, mediated)
    return section("roas", "Return on ad spend", body + ctx.extras("roas"))


def _roles(roles: dict, mediated: bool) -> str:
    """What each control and brand item is to the media effects, in the product's own words."""
    if not roles:
        return ""
    lines = "".join(f"<li>{esc(sentence(r.get('sentence')))}</li>" for r in roles.values())
    lead = ("Media effects are total effects: what moving budget changes, including what flows through brand "
            "health. The direct effect (brand health held fixed) is shown beside them."
            if mediated else "Controls and brand items, and what they are to the media effects:")
    return f"<p>{esc(lead)}</p><ul>{lines}</ul>"


def saturation(ctx: Context) -> str:
    curves = ctx.inputs.response_curves if isinstance(ctx.inputs.response_curves, dict) else None
    if not curves:
        body = unavailable(ctx.inputs.unavailable("response_curves.json")) + ctx.extras("saturation")
        return section("saturation", "Saturation curves", body)
    body = figure(charts_media.saturation_chart(curves, ctx.rows, ctx.colours), "response curves per channel")
    by_name = {r.name: r for r in ctx.rows}
    rows = []
    for name, curve in curves.items():
        if not isinstance(curve, dict):
            continue
        current = finite_or_none(curve.get("current_spend"))
        sat = finite_or_none(curve.get("saturation_spend"))
        row = by_name.get(name)
        rows.append([esc(name), fmt_amount(current), fmt_amount(curve.get("optimal_spend")), fmt_amount(sat),
                     fmt_pct(current / sat if current is not None and sat else None, 0),
                     "" if row is None or row.identified else badge("not identified", "warn")])
    headers = ["channel", f"current spend per {ctx.period}", "optimal", "saturation spend", "current vs saturation", ""]
    body += table(headers, rows, numeric=(1, 2, 3, 4))
    body += note(f"Each curve is the steady revenue per {ctx.period} from spending the same amount every {ctx.period}. "
                 "● current spend, ◆ optimal spend, dotted line: saturation (90% of the curve's maximum). "
                 "Bands are the interval.")
    return section("saturation", "Saturation curves", body + ctx.extras("saturation"))


def adstock(ctx: Context) -> str:
    rows = [r for r in ctx.rows if r.weights]
    if not rows:
        body = unavailable(ctx.inputs.unavailable("channels.json") if not ctx.rows
                           else "Not available for this run: channels.json has no adstock weights.")
        return section("adstock", "Carry-over (adstock)", body + ctx.extras("adstock"))
    body = figure(charts_media.adstock_chart(rows, ctx.colours, ctx.period), "adstock decay per channel")
    table_rows = []
    for r in rows:
        first, ninety = _carry_over(r.weights)
        table_rows.append([esc(r.name), esc(fmt_interval(r.decay)), fmt_pct(first, 0),
                           f"{ninety} {ctx.period}{'s' if ninety != 1 else ''}"])
    headers = ["channel", "decay rate", f"effect in the {ctx.period} of spend", "90% of the effect within"]
    body += table(headers, table_rows, numeric=(1, 2, 3))
    return section("adstock", "Carry-over (adstock)", body + ctx.extras("adstock"),
                   "Advertising keeps working after the money is spent; this is how long.")


def _carry_over(weights: list[float]) -> tuple[float, int]:
    """(share of the effect in the first period, periods until 90% of it has arrived)."""
    total = sum(weights) or 1.0
    cumulative, periods = 0.0, len(weights)
    for i, w in enumerate(weights):
        cumulative += w / total
        if cumulative >= 0.9 - 1e-9:
            periods = i + 1
            break
    return weights[0] / total, periods


def price_elasticity(ctx: Context) -> str:
    categories, _leaves = price_elasticity_split(ctx.inputs)
    if not categories:
        body = unavailable("Not available for this run: no price elasticity was estimated (no price data).")
        return section("price-elasticity", "Price elasticity", body + ctx.extras("price-elasticity"))
    body = figure(charts_media.price_chart(categories), "price response curves per category")
    units = ctx.inputs.summary.get("price_elasticity_units") or {}
    if units:
        rows = [[esc(name), esc(fmt_interval(units.get(name))), esc(fmt_interval(iv)),
                 esc(_price_effect(units.get(name), "units") + "; " + _price_effect(iv, "revenue"))]
                for name, iv in categories.items()]
        body += table(["category", "units elasticity", "revenue elasticity", "1% list-price increase →"], rows,
                      numeric=(1, 2, 3))
        body += note("Demand (units, log scale) is fitted with price lowering units; revenue follows from revenue = "
                     "price × units, so with the discount held the revenue elasticity is the units elasticity + 1: "
                     "positive where demand is inelastic.")
    else:
        rows = [[esc(name), esc(fmt_interval(iv)), esc(_price_effect(iv, "sales"))] for name, iv in categories.items()]
        body += table(["category", "elasticity", "1% price increase →"], rows, numeric=(1, 2))
    body += note("The curves apply the average elasticity to price changes of up to ±20%; "
                 "far outside the prices seen in the data they are extrapolation.")
    body += _bound_notes(ctx.inputs, categories)
    body += _all_elasticities(ctx.inputs)
    return section("price-elasticity", "Price elasticity", body + ctx.extras("price-elasticity"),
                   "How sales respond to price, per category.")


def _price_effect(iv: dict | None, what: str) -> str:
    if not iv or iv.get("mean") is None:
        return DASH
    text = f"{iv['mean']:+.2f}% {what}"
    if iv["lo"] is not None and iv["hi"] is not None:
        text += f" ({iv['lo']:+.2f}% to {iv['hi']:+.2f}%)"
    return text


def _bound_notes(inputs: ReportInputs, categories: dict) -> str:
    """Estimates that ended at an elasticity bound: the bound, not the data, set them."""
    elasticities = inputs.elasticities if isinstance(inputs.elasticities, dict) else {}
    price = inputs.summary.get("price_elasticity") or {}
    units = inputs.summary.get("price_elasticity_units") or {}
    lines = active_bound_lines({"own price by category": {k: v for k, v in price.items() if k in categories},
                                "own price (units)": units,
                                **{f: v for f, v in elasticities.items() if isinstance(v, dict)}})
    if not lines:
        return ""
    return note("Estimates at an elasticity bound (settings model.elasticity_bounds) are set by the bound, "
                "not the data: " + "; ".join(lines) + ".")


def _all_elasticities(inputs: ReportInputs) -> str:
    elasticities = inputs.elasticities if isinstance(inputs.elasticities, dict) else {}
    rows = []
    for feature, per_node in elasticities.items():
        if isinstance(per_node, dict):
            rows += [[esc(feature), esc(node), esc(fmt_interval(iv) + (f" ({iv['note']})" if iv.get("note") else ""))]
                     for node, iv in per_node.items()]
    if not rows:
        return ""
    tbl = table(["feature", "node", "elasticity (d log sales / d log feature)"], rows, numeric=(2,))
    return f"<details><summary>All elasticities by feature and node</summary>{tbl}</details>"


def hierarchy(ctx: Context) -> str:
    categories, leaves = price_elasticity_split(ctx.inputs)
    mapping = node_categories(ctx.inputs)
    if not categories or not leaves:
        reason = ("Not available for this run: the model has one level (no sub-categories under categories)."
                  if categories else "Not available for this run: no price elasticity per category or sub-category.")
        body = unavailable(reason) + ctx.extras("hierarchy")
        return section("hierarchy", "Hierarchy: category vs sub-category", body)
    body = figure(charts_media.hierarchy_chart(categories, leaves, mapping), "category vs sub-category elasticities")
    rows = []
    for node, iv in leaves.items():
        cat = mapping.get(node, DASH)
        cat_iv = categories.get(cat)
        gap = None if cat_iv is None else iv["mean"] - cat_iv["mean"]
        rows.append([esc(cat), esc(node), esc(fmt_interval(iv)), esc(fmt_interval(cat_iv)),
                     DASH if gap is None else f"{gap:+.2f}"])
    body += table(["category", "sub-category", "sub-category elasticity", "category elasticity", "difference"],
                  rows, numeric=(2, 3, 4))
    body += note("Sub-categories are pooled toward their category: with little data of their own they stay close to "
                 "it, and a large difference means the data clearly says they behave differently.")
    return section("hierarchy", "Hierarchy: category vs sub-category", body + ctx.extras("hierarchy"))
