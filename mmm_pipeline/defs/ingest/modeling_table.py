"""The modelling table (validation group): the tidy (date, node) table and its quality checks.

Building the table validates it against the contract (pandera, raising on failure). The
data-quality checks of :mod:`mmm_pipeline.core.data.quality` become asset checks: those the
core marks ERROR (continuity, duplicates, bounds, blanks) block everything downstream; WARN
checks (outliers, totals that do not add up) are recorded and the run goes on.
"""

import dagster as dg
import pandas as pd

from mmm_pipeline.core.data.modeling_table import build_modeling_table
from mmm_pipeline.core.data.quality import QUALITY_CHECKS, run_quality_checks
from mmm_pipeline.defs.ingest.raw import FILLED_ATTR
from mmm_pipeline.defs.metadata import frame_metadata, json_value
from mmm_pipeline.defs.resources import DatasetResource

SEVERITY = {"ERROR": dg.AssetCheckSeverity.ERROR, "WARN": dg.AssetCheckSeverity.WARN}
CHECK_DESCRIPTIONS = {
    "date_continuity": "no missing period between the first and last date, for any node",
    "duplicates": "one row per (date, node)",
    "value_bounds": "target, units and spend non-negative; discount a fraction; list price positive",
    "total_consistency": "total-investment columns equal the sum of their channels (warning)",
    "outliers": "IQR fences and rolling z-scores of the target and spend (warning)",
    "missing_values": "no blank survives; cells repaired by configured fill rules are counted",
}


@dg.asset(
    group_name="validation",
    description="Tidy modelling table: one row per (date, node) with target, spend per channel, prices, "
    "brand, controls and 0/1 events (the contract in the project brief).",
    check_specs=[
        dg.AssetCheckSpec(name, asset="modeling_table", blocking=True, description=CHECK_DESCRIPTIONS.get(name, name))
        for name in QUALITY_CHECKS
    ],
    kinds={"pandas"},
)
def modeling_table(
    context: dg.AssetExecutionContext,
    dataset: DatasetResource,
    raw_sales: dict,
    raw_media: dict,
    raw_brand: dict,
    raw_calendar: dict,
    raw_reference: dict,
):
    config = dataset.load()
    sources: dict[str, pd.DataFrame] = {**raw_sales, **raw_media, **raw_brand, **raw_calendar, **raw_reference}
    fills = {name: dict(frame.attrs.get(FILLED_ATTR, {})) for name, frame in sources.items()}
    table, report = build_modeling_table(config, sources, fills)
    results = run_quality_checks(config, table, sources, fills)
    checks = [
        dg.AssetCheckResult(
            check_name=name,
            passed=bool(result.passed),
            severity=SEVERITY[result.severity],
            description=result.message,
            metadata={"details": json_value(result.metadata)},
        )
        for name, result in results.items()
    ]
    for result in results.values():
        if not result.passed:
            context.log.warning("quality check %s (%s): %s", result.name, result.severity, result.message)
    metadata = {
        **frame_metadata(table),
        "nodes": dg.MetadataValue.int(int(table["node"].nunique())),
        "build_report": json_value(report.metadata()),
        "filled_cells_total": dg.MetadataValue.int(report.total_filled),
    }
    return dg.MaterializeResult(value=table, metadata=metadata, check_results=checks)
