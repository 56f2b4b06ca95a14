"""Monthly partitions: one per calendar month, keyed `YYYY-MM`.

Dagster keys a time window by its start; the key names the month and every
asset reads the period end (the month's last day, the ledger's name for the
period) from it. A partition exists once its month is over; it is only
*reportable* once the ledger has closed it (`period_closes`), which the
extraction enforces.
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from dagster_project.settings import Settings

PERIOD_FORMAT = "%Y-%m"


def monthly_periods(settings: Settings) -> dg.MonthlyPartitionsDefinition:
    return dg.MonthlyPartitionsDefinition(
        start_date=settings.first_period, fmt=PERIOD_FORMAT, end_offset=0
    )


def period_end_of(partition_key: str) -> date:
    year, month = (int(p) for p in partition_key.split("-"))
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


def previous_month_end(period_end: date) -> date:
    return period_end.replace(day=1) - timedelta(days=1)


def partition_key_of(period_end: date) -> str:
    return period_end.strftime(PERIOD_FORMAT)


def periods_in_run(context: dg.AssetExecutionContext) -> list[str]:
    """The partition keys a run covers, oldest first (a single-run backfill
    of a range covers several)."""
    return sorted(context.partition_keys)


PREVIOUS_PERIOD = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
