"""Raw-source assets, one per source *role* (sales facts, media, brand, calendar, reference).

The asset keys do not depend on the dataset: each asset holds ``{source name: frame}`` for the
dataset's sources of its role, possibly none. Reading and the configured missing-value repairs
happen in the asset; the pandera schema is a blocking asset check evaluated lazily, so one
run lists every failing column of every file and nothing downstream runs on bad input.
"""

import dagster as dg

from mmm_pipeline.core.data.errors import DataIssue, DataValidationError
from mmm_pipeline.core.data.fill import fill_missing
from mmm_pipeline.core.data.loaders import file_sha256, read_source
from mmm_pipeline.core.data.schemas import validate_source
from mmm_pipeline.defs.metadata import bullet_list, frame_metadata, json_value
from mmm_pipeline.defs.resources import DatasetResource

#: asset name -> (source kind in the dataset YAML, what it holds)
ROLES: dict[str, tuple[str, str]] = {
    "raw_sales": ("fact", "Sales facts: the target, prices, units and the product hierarchy."),
    "raw_media": ("media", "Paid-media spend (and exposure) per channel."),
    "raw_brand": ("brand", "Brand-health measures such as NPS."),
    "raw_calendar": ("calendar", "Event calendars: special sales, holidays."),
    "raw_reference": ("reference", "Reference tables without a time axis (product lists)."),
}
SCHEMA_CHECK = "schema"
#: metadata key with {resolved file path: sha256} of the files a materialization read
SOURCE_HASHES = "source_sha256"
FILLED_ATTR = "filled_cells"


def _read_role(config, kind: str) -> dict:
    """Read and repair every source of one kind; unreadable files are reported together."""
    frames, issues = {}, []
    for name, src in config.sources.items():
        if src.kind != kind:
            continue
        try:
            frame = read_source(config, name)
        except DataValidationError as exc:
            issues.extend(exc.issues)
            continue
        filled, counts = fill_missing(config, name, frame)
        filled.attrs[FILLED_ATTR] = dict(counts)
        frames[name] = filled
    if issues:
        raise DataValidationError(issues)
    return frames


def _schema_result(config, frames: dict) -> dg.AssetCheckResult:
    issues: list[DataIssue] = []
    for name, frame in frames.items():
        try:
            validate_source(config, name, frame)
        except DataValidationError as exc:
            issues.extend(exc.issues)
    if not issues:
        text = f"{len(frames)} source(s) match their schema" if frames else "dataset has no source of this role"
    else:
        text = str(DataValidationError(issues))
    return dg.AssetCheckResult(
        check_name=SCHEMA_CHECK,
        passed=not issues,
        severity=dg.AssetCheckSeverity.ERROR,
        description=text[:4000],
        metadata={
            "issues": dg.MetadataValue.int(len(issues)),
            "failed_checks": json_value(sorted({i.check for i in issues})),
            "problems": dg.MetadataValue.md(bullet_list([i.describe() for i in issues])),
        },
    )


def _raw_asset(asset_name: str, kind: str, description: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=asset_name,
        group_name="ingestion",
        description=f"{description} Value: {{source name: DataFrame}} for the dataset's `{kind}` sources.",
        check_specs=[dg.AssetCheckSpec(SCHEMA_CHECK, asset=asset_name, blocking=True,
                                       description="pandera schema of each source (lazy: every failure reported)")],
        kinds={"pandas"},
    )
    def _asset(context: dg.AssetExecutionContext, dataset: DatasetResource):
        config = dataset.load()
        frames = _read_role(config, kind)
        metadata = {
            "dataset": dg.MetadataValue.text(config.name),
            "sources": json_value({n: str(config.source_path(n)) for n in frames}),
            SOURCE_HASHES: json_value({str(config.source_path(n).resolve()): file_sha256(config.source_path(n))
                                       for n in frames}),
            "filled_cells": json_value({n: f.attrs.get(FILLED_ATTR, {}) for n, f in frames.items()}),
            "dagster/row_count": dg.MetadataValue.int(sum(len(f) for f in frames.values())),
        }
        for name, frame in frames.items():
            metadata.update(frame_metadata(frame, prefix=f"{name}/"))
        context.log.info("%s: read %d %s source(s): %s", config.name, len(frames), kind, ", ".join(frames) or "none")
        return dg.MaterializeResult(value=frames, metadata=metadata, check_results=[_schema_result(config, frames)])

    return _asset


raw_assets: list[dg.AssetsDefinition] = [_raw_asset(name, kind, text) for name, (kind, text) in ROLES.items()]
