"""What every per-vehicle asset shares: the periods it reports and the lake
files of earlier periods it reads."""

from collections.abc import Callable, Sequence
from datetime import date

import dagster as dg
import polars as pl

from dagster_project.partitions import partition_key_of, period_end_of, previous_month_end
from funding.lake import Lake
from funding.vehicle_config import VehicleConfig


def not_reporting(config: VehicleConfig, key: str, *checks: str) -> dg.MaterializeResult | None:
    """Periods before a vehicle's first reporting period produce nothing;
    their checks pass with a note saying why."""
    if config.reports(period_end_of(key)):
        return None
    note = f"{config.id} reports from {config.first_period_end:%Y-%m}; nothing to compute for {key}"
    return dg.MaterializeResult(
        metadata={"status": dg.MetadataValue.text(note)},
        check_results=[
            dg.AssetCheckResult(check_name=c, passed=True, description=note) for c in checks
        ],
    )


def read_history(
    lake: Lake,
    key: str,
    count: int,
    path_of: Callable[[str], tuple[str, ...]],
    columns: Sequence[str] | None = None,
) -> list[tuple[date, pl.DataFrame]]:
    """Up to `count` files of consecutive periods ending at `key`, oldest
    first, stopping at the first period without one."""
    out, period_end = [], period_end_of(key)
    for _ in range(count):
        path = path_of(partition_key_of(period_end))
        if not lake.exists(*path):
            break
        out.append((period_end, lake.read_frame(*path, columns=columns)))
        period_end = previous_month_end(period_end)
    return list(reversed(out))
