"""Run the monthly job period by period through the Dagster instance."""

from __future__ import annotations

import dagster as dg

from dagster_project.definitions import build_definitions
from dagster_project.partitions import partition_key_of
from dagster_project.settings import Settings
from funding.ledger import LedgerError, read_ledger, redact
from funding.vehicle_config import load_vehicles

JOB_NAME = "monthly_close"
# The full event log is in the instance (and the UI); the console shows problems only.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def closed_period_keys(settings: Settings) -> list[str]:
    with read_ledger(settings.ledger_url) as session:
        return [partition_key_of(c.period_end) for c in session.period_closes()]


def succeeded(instance: dg.DagsterInstance, key: str) -> bool:
    runs = instance.get_runs(
        filters=dg.RunsFilter(
            job_name=JOB_NAME,
            tags={"dagster/partition": key},
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
    try:
        closed = closed_period_keys(settings)
    except LedgerError as exc:
        print(f"cannot read the ledger: {exc}")
        return 2
    defs = build_definitions(settings)
    job = defs.resolve_job_def(JOB_NAME)
    known = set(job.partitions_def.get_partition_keys())
    wanted = [
        k for k in closed if (first is None or k >= first) and (through is None or k <= through)
    ]
    for key in (first, through):
        if key and key not in closed:
            print(
                f"period {key} is not closed in the ledger ({redact(settings.ledger_url)}); "
                f"closed periods: {closed[0] if closed else '-'} .. {closed[-1] if closed else '-'}"
            )
            return 2
    outside = [k for k in wanted if k not in known]
    if outside:
        print(
            f"skipping closed periods before FIRST_PERIOD={settings.first_period}: {', '.join(outside)}"
        )
    wanted = [k for k in wanted if k in known]
    instance = dg.DagsterInstance.get()
    ran = []
    for key in wanted:
        if not rerun and succeeded(instance, key):
            continue
        print(f"{key}: running {JOB_NAME} ...", flush=True)
        result = job.execute_in_process(
            partition_key=key, instance=instance, raise_on_error=False, run_config=QUIET_CONSOLE
        )
        if not result.success:
            print(f"{key}: FAILED (run {result.run_id})")
            print("\n".join(failure_report(result)))
            print("later periods were not run: each builds on the one before.")
            return 1
        ran.append(key)
        print(f"{key}: ok (run {result.run_id})")
    print_outputs(settings, wanted, ran)
    return 0


def print_outputs(settings: Settings, wanted: list[str], ran: list[str]) -> None:
    from funding.lake import Lake

    lake = Lake(settings.lake_uri)
    print(
        f"\nperiods run now: {', '.join(ran) if ran else 'none (all closed periods were already done)'}"
    )
    print(f"ledger:           {redact(settings.ledger_url)}")
    print(f"lake (Parquet):   {lake.location()}")
    print(f"published to:     {settings.publish_uri}")
    if wanted:
        last = wanted[-1]
        print(f"latest period {last}:")
        print(f"  snapshot  {lake.location('receivables_snapshot', last + '.parquet')}")
        for vehicle in sorted(load_vehicles(settings.vehicles_dir)):
            path = (vehicle, "package", f"{last}.json")
            if lake.exists(*path):
                package = lake.read_json(*path)
                report = package["files"].get("investor_report.html")
                print(
                    f"  {vehicle:<9} v{package['version']} report: {_publish_location(settings, report)}"
                )
            else:
                print(f"  {vehicle:<9} no package for {last}")
    print(f"Dagster instance: {settings.dagster_home}  (UI: make ui)")


def _publish_location(settings: Settings, key: str | None) -> str:
    if key is None:
        return "-"
    from funding.publish import target_for

    return target_for(settings.publish_uri).uri(key)
