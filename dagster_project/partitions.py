"""Monthly partitions: one per closed calendar month, keyed `YYYY-MM`.

Dagster keys a time window by its start; the key names the month, and this
module is the one place that turns a partition key into a `Period` (and
back). The partitions end at the latest month the ledger had closed when the
code location loaded, so a month the ledger has not closed is not a
partition at all and cannot be mistaken for a missing one; a close that
comes later appears when the code location reloads (the period-close sensor
says so). The extraction still refuses any period without a close.
"""

from __future__ import annotations

import dagster as dg

from funding.period import Period

PERIOD_FORMAT = "%Y-%m"


def monthly_periods(first: Period, last_closed: Period | None) -> dg.MonthlyPartitionsDefinition:
    """Months from `first` through `last_closed`; every month that has ended
    when the ledger's closes are unknown (`last_closed` None)."""
    if last_closed is None or last_closed < first:
        return dg.MonthlyPartitionsDefinition(start_date=first.key, fmt=PERIOD_FORMAT, end_offset=0)
    return dg.MonthlyPartitionsDefinition(
        start_date=first.key, end_date=last_closed.next().key, fmt=PERIOD_FORMAT
    )


def period_of(partition_key: str) -> Period:
    return Period.parse(partition_key)


def partition_key(period: Period) -> str:
    return period.key


PREVIOUS_PERIOD = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
