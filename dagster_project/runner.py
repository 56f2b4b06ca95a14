"""Run the monthly job period by period through the Dagster instance."""

from __future__ import annotations

import dagster as dg

from dagster_project.definitions import build_definitions, resources
from dagster_project.jobs import MONTHLY_CLOSE
from dagster_project.partitions import partition_key, period_of
from dagster_project.settings import Settings, instance_for
from funding.ledger.closes import LedgerError
from funding.period import Period
from funding.storage.lake import SHARED
from funding.storage.tables import PACKAGE, SNAPSHOT
from funding.vehicle_config import load_vehicles

# The full event log is in the instance (and the UI); the console shows problems only.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def closed_periods(settings: Settings) -> list[Period]:
    with resources(settings)["ledger"].session() as session:
        return [c.period for c in session.period_closes()]


def succeeded(instance: dg.DagsterInstance, period: Period) -> bool:
    runs = instance.get_runs(
        filters=dg.RunsFilter(
            job_name=MONTHLY_CLOSE,
            tags={"dagster/partition": partition_key(period)},
            statuses=[dg.DagsterRunStatus.SUCCESS],
        ),
        limit=1,
    )
    return bool(runs)


def failure_report(result) -> list[str]:
    lines = []
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            summary = evaluation.metadata.get("summary")
            text = summary.value if summary is not None else evaluation.description
            lines.append(
                f"  check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} failed: {text}"
            )
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            while error is not None and error.cause is not None:
                error = error.cause  # the root cause names vehicle, period and rows
            message = error.message.strip() if error else "unknown error"
            lines.append(f"  step {event.step_key} failed: {message}")
    return lines


def run_periods(settings: Settings, first: str | None, through: str | None, rerun: bool) -> int:
    ledger = resources(settings)["ledger"]
    try:
        closed = closed_periods(settings)
    except LedgerError as exc:
        print(f"cannot read the ledger: {exc}")
        return 2
    try:
        bounds = [None if text is None else Period.parse(text) for text in (first, through)]
    except ValueError as exc:
        print(exc)
        return 2
    low, high = bounds
    for period in (low, high):
        if period and period not in closed:
            print(
                f"period {period} is not closed in the ledger ({ledger.display_url}); "
                f"closed periods: {closed[0] if closed else '-'} .. {closed[-1] if closed else '-'}"
            )
            return 2
    wanted = [p for p in closed if (low is None or p >= low) and (high is None or p <= high)]
    defs = build_definitions(settings)
    job = defs.resolve_job_def(MONTHLY_CLOSE)
    known = {period_of(k) for k in job.partitions_def.get_partition_keys()}
    outside = [p for p in wanted if p not in known]
    if outside:
        print(
            f"skipping closed periods before FIRST_PERIOD={settings.first_period}: "
            f"{', '.join(map(str, outside))}"
        )
    wanted = [p for p in wanted if p in known]
    instance = instance_for(settings)
    ran = []
    for period in wanted:
        if not rerun and succeeded(instance, period):
            continue
        print(f"{period}: running {MONTHLY_CLOSE} ...", flush=True)
        result = job.execute_in_process(
            partition_key=partition_key(period),
            instance=instance,
            raise_on_error=False,
            run_config=QUIET_CONSOLE,
        )
        if not result.success:
            print(f"{period}: FAILED (run {result.run_id})")
            print("\n".join(failure_report(result)))
            print("later periods were not run: each builds on the one before.")
            return 1
        ran.append(period)
        print(f"{period}: ok (run {result.run_id})")
    print_outputs(settings, wanted, ran)
    return 0


def print_outputs(settings: Settings, wanted: list[Period], ran: list[Period]) -> None:
    lake = resources(settings)["lake"].lake
    publisher = resources(settings)["publisher"].target
    done = ", ".join(map(str, ran)) if ran else "none (all closed periods were already done)"
    print(f"\nperiods run now: {done}")
    print(f"ledger:           {resources(settings)['ledger'].display_url}")
    print(f"lake (Parquet):   {lake.store.uri()}")
    print(f"published to:     {settings.publish_uri}")
    if wanted:
        last = wanted[-1]
        print(f"latest period {last}:")
        print(f"  snapshot  {lake.uri(SNAPSHOT, SHARED, last)}")
        for vehicle, config in sorted(load_vehicles(settings.vehicles_dir).items()):
            package = lake.read_optional(PACKAGE, vehicle, last)
            if package is None:
                why = (
                    f": it reports from {config.first_period} (its closing is the month before)"
                    if not config.reports(last)
                    else ""
                )
                print(f"  {vehicle:<9} no package for {last}{why}")
                continue
            report = package["files"].get("investor_report.html")
            where = publisher.uri(report) if report else "-"
            print(f"  {vehicle:<9} v{package['version']} report: {where}")
    print(f"Dagster instance: {settings.dagster_home}  (UI: make ui)")
