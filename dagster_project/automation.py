"""When the monthly job runs by itself: as soon as the ledger closes a
period (sensor on `period_closes`), and at the latest on a configured
business day of the month (schedule). Whichever comes first starts the run
for that period; the other finds the period's run and does nothing. Runs
cover every vehicle, so the run key is the period; a period is never
started twice by automation (a failed run is left for a person to re-run
after fixing the cause)."""

from __future__ import annotations

from datetime import date, datetime

import dagster as dg

from dagster_project.jobs import MONTHLY_CLOSE
from dagster_project.resources import LedgerResource
from funding.ledger.closes import LedgerError


def nth_business_day(day: date) -> int | None:
    """Which business day (Mon-Fri) of its month `day` is; None on weekends.
    Bank holidays are not modelled: set the configured day with that in mind."""
    if day.weekday() >= 5:
        return None
    return sum(1 for d in range(1, day.day + 1) if date(day.year, day.month, d).weekday() < 5)


def latest_closed_period(ledger: LedgerResource) -> str | None:
    with ledger.session() as session:
        closes = session.period_closes()
    return max(c.period for c in closes).key if closes else None


def period_already_run(instance: dg.DagsterInstance, key: str) -> bool:
    runs = instance.get_run_records(
        filters=dg.RunsFilter(job_name=MONTHLY_CLOSE, tags={"dagster/partition": key}), limit=1
    )
    return bool(runs)


def _request(instance, ledger: LedgerResource, partitions_def, source: str):
    try:
        key = latest_closed_period(ledger)
    except LedgerError as exc:
        return dg.SkipReason(f"cannot read period_closes: {exc}")
    if key is None:
        return dg.SkipReason("the ledger has no closed period yet")
    keys = partitions_def.get_partition_keys()
    if key not in keys:
        if keys and key > keys[-1]:
            return dg.SkipReason(
                f"period {key} closed after the code location loaded (its last partition is "
                f"{keys[-1]}); reload the code location to add it (Deployment > Reload)"
            )
        return dg.SkipReason(
            f"closed period {key} is before FIRST_PERIOD ({keys[0] if keys else '-'})"
        )
    if period_already_run(instance, key):
        return dg.SkipReason(f"period {key} already has a run")
    return dg.RunRequest(run_key=key, partition_key=key, tags={"funding/trigger": source})


def build_automation(partitions_def, business_day: int):
    @dg.sensor(
        job_name=MONTHLY_CLOSE,
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Starts the monthly job for a period as soon as period_closes has its row.",
    )
    def period_close_sensor(context: dg.SensorEvaluationContext, ledger: LedgerResource):
        return _request(context.instance, ledger, partitions_def, "period_close_sensor")

    @dg.schedule(
        job_name=MONTHLY_CLOSE,
        cron_schedule="0 6 * * 1-5",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"At 06:00 UTC on business day {business_day} of each month (Monday to Friday "
        "counted from the 1st; bank holidays not modelled), runs the latest closed period if the "
        "period-close sensor has not already.",
    )
    def monthly_delivery_schedule(context: dg.ScheduleEvaluationContext, ledger: LedgerResource):
        today = (context.scheduled_execution_time or datetime.now()).date()
        if nth_business_day(today) != business_day:
            return dg.SkipReason(f"{today} is not business day {business_day} of the month")
        return _request(context.instance, ledger, partitions_def, "monthly_delivery_schedule")

    return [period_close_sensor], [monthly_delivery_schedule]
