"""The walk-forward partitions: one per test month, taken from the data.

``fold_month`` is a dynamic partition set because the months come from the dataset (and grow
by one each month), not from a calendar fixed in code. The set always equals
:func:`mmm_pipeline.core.train.walk_forward.fold_months` of the current data, in time order;
``feature_table``, the CLI, the schedule and the sensor keep it in sync.
"""

from dataclasses import dataclass

import dagster as dg

FOLD_PARTITIONS = dg.DynamicPartitionsDefinition(name="fold_month")
FOLD_ASSET = dg.AssetKey("walk_forward_fold")


@dataclass(frozen=True)
class PartitionPlan:
    """How to turn the instance's fold partitions into ``wanted``."""

    wanted: list[str]
    add: list[str]
    delete: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.add or self.delete)

    def requests(self) -> list:
        out: list = []
        if self.delete:
            out.append(FOLD_PARTITIONS.build_delete_request(self.delete))
        if self.add:
            out.append(FOLD_PARTITIONS.build_add_request(self.add))
        return out


def plan_partitions(existing: list[str], wanted: list[str]) -> PartitionPlan:
    """Appending months is the normal case; anything else (another dataset, revised history)
    rebuilds the set so its order stays chronological (partition ranges follow that order)."""
    wanted = sorted(wanted)
    if existing == wanted:
        return PartitionPlan(wanted, [], [])
    if existing == wanted[: len(existing)]:
        return PartitionPlan(wanted, wanted[len(existing):], [])
    return PartitionPlan(wanted, list(wanted), list(existing))


def sync_fold_partitions(instance: dg.DagsterInstance, months: list[str]) -> PartitionPlan:
    """Make the instance's ``fold_month`` partitions exactly ``months`` (in time order)."""
    plan = plan_partitions(list(instance.get_dynamic_partitions(FOLD_PARTITIONS.name)), months)
    for key in plan.delete:
        instance.delete_dynamic_partition(FOLD_PARTITIONS.name, key)
    if plan.add:
        instance.add_dynamic_partitions(FOLD_PARTITIONS.name, plan.add)
    return plan


def stored_fold_months(instance: dg.DagsterInstance, config, digests: dict[str, str] | None = None) -> set[str]:
    """Fold months whose stored results are current: computed for this dataset by this code
    with these settings and, given ``digests`` ({month: data digest of the current data}), from
    the same data (a revised past month makes its folds stale). Anything else is recomputed."""
    from mmm_pipeline.defs.resources import asset_storage_dir, current_value

    folder = asset_storage_dir(instance.storage_directory(), config.name, FOLD_ASSET)
    if not folder.is_dir():
        return set()
    if digests is None:
        return {p.stem for p in folder.glob("*.pkl") if current_value(p, config)}
    return {month for month, digest in digests.items() if current_value(folder / f"{month}.pkl", config, digest)}


def months_to_run(months: list[str], stored: set[str]) -> list[str]:
    """The contiguous range of folds an incremental run must compute: from the first month
    without stored results (or the newest month, which always reflects the latest data) to the
    newest."""
    if not months:
        return []
    missing = [m for m in months if m not in stored]
    start = missing[0] if missing else months[-1]
    return months[months.index(start):]


def range_tags(months: list[str]) -> dict[str, str]:
    """Run tags that make one run cover the partition range ``months[0]..months[-1]``."""
    return {
        "dagster/asset_partition_range_start": months[0],
        "dagster/asset_partition_range_end": months[-1],
    }
