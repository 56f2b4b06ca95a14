"""Monthly partitions: one per calendar month, keyed `YYYY-MM`.

Dagster keys a time window by its start; the key names the month, and this
module is the one place that turns a partition key into a `Period` (and
back). A partition exists once its month is over; it is only *reportable*
once the ledger has closed it (`period_closes`), which the extraction
enforces.
"""

from __future__ import annotations

import dagster as dg

from funding.period import Period

PERIOD_FORMAT = "%Y-%m"


def monthly_periods(first: Period) -> dg.MonthlyPartitionsDefinition:
    return dg.MonthlyPartitionsDefinition(start_date=first.key, fmt=PERIOD_FORMAT, end_offset=0)


def period_of(partition_key: str) -> Period:
    return Period.parse(partition_key)


def partition_key(period: Period) -> str:
    return period.key


PREVIOUS_PERIOD = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
