"""Run the monthly job period by period through the Dagster instance, and
say what happened: per period and vehicle, a package published, restated or
kept unchanged, with the time each took.

`funding run`, `funding restate` and the restatement job all go through
`run_periods`, so the runs show in the instance's run history (and the UI)
whoever started them.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dagster as dg

from dagster_project.alerting import send_run_alerts
from dagster_project.definitions import build_definitions, resources
from dagster_project.jobs import MONTHLY_CLOSE, monthly_close_job
from dagster_project.partitions import partition_key, period_of
from dagster_project.settings import Settings, instance_for
from dagster_project.warmup import HEAVY_IMPORTS, import_in_background
from funding.ledger.closes import LedgerError
from funding.ledger.restatements import (
    CUTOFF_FORMAT,
    Restatement,
    RestatementError,
    RestatementLog,
    check_restatement,
    effective_closes,
    parse_cutoff,
)
from funding.period import Period
from funding.storage.lake import SHARED, Lake
from funding.storage.tables import PACKAGE, SNAPSHOT, SNAPSHOT_WINDOW
from funding.vehicle_config import VehicleConfig, load_vehicles

# The full event log is in the instance (and the UI); the console shows problems only.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# Steps run in separate processes forked from one that imported the code and
# its heavy libraries once (`funding run --parallel`).
PARALLEL = {
    "execution": {
        "config": {
            "multiprocess": {
                "max_concurrent": 2,
                "start_method": {
                    "forkserver": {
                        "preload_modules": ["dagster_project.definitions", *HEAVY_IMPORTS]
                    }
                },
            }
        }
    }
}


class UsageError(RuntimeError):
    """A request that cannot be run as asked (exit status 2)."""


@dataclass
class PeriodReport:
    period: Period
    run_id: str
    success: bool
    seconds: float
    cutoff: str = ""
    packages: dict[str, str] = field(default_factory=dict)  # vehicle -> what happened
    failures: list[str] = field(default_factory=list)


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
                f"check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} failed: {text}"
            )
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            while error is not None and error.cause is not None:
                error = error.cause  # the root cause names vehicle, period and rows
            message = error.message.strip() if error else "unknown error"
            lines.append(f"step {event.step_key} failed: {message}")
    return lines


def package_outcomes(
    vehicles: Mapping[str, VehicleConfig], lake: Lake, period: Period, result
) -> dict[str, str]:
    """What each vehicle's package did in the run (from its lake record)."""
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    outcomes = {}
    for vehicle, config in vehicles.items():
        if not config.reports(period):
            outcomes[vehicle] = f"no package: reports from {config.first_period}"
            continue
        if f"{vehicle}/investor_package" not in materialized:
            outcomes[vehicle] = "no package: stopped by a failed check or step"
            continue
        record = lake.read_optional(PACKAGE, vehicle, period) or {}
        version = record.get("version")
        if not record.get("published"):
            outcomes[vehicle] = f"unchanged (v{version} kept)"
        elif record.get("restates"):
            outcomes[vehicle] = f"restated v{version} (restates {record['restates']})" + "".join(
                _figure_lines(record)
            )
        else:
            outcomes[vehicle] = f"published v{version}"
    return outcomes


SHOWN_FIGURES = 5  # the rest are in the manifest's diff and the investor message


def _figure_lines(record: dict) -> list[str]:
    """Which figures a restatement changed, before and after."""
    changes = record.get("figures_changed") or []
    lines = [
        f"\n{'':12}{c['figure']}: {c['before'] or '-'} -> {c['after'] or '-'}"
        for c in changes[:SHOWN_FIGURES]
    ]
    more = len(changes) - SHOWN_FIGURES + int(record.get("other_figures_changed") or 0)
    if more > 0:
        lines.append(f"\n{'':12}and {more} more figures (manifest.json, diff)")
    return lines


class Progress:
    """Periods done of total, the current step, elapsed and estimated time,
    on one refreshed line when the output is a terminal."""

    def __init__(self, total: int, stream=None):
        self.total = total
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()
        self.started = time.monotonic()
        self.done = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, instance: dg.DagsterInstance, run_id: str, period: Period) -> None:
        if not self.live:
            return
        self._stop.clear()

        def refresh() -> None:
            while not self._stop.wait(1.0):
                step = "starting"
                for record in reversed(instance.all_logs(run_id)):
                    event = record.dagster_event
                    if event and event.event_type_value == "STEP_START":
                        step = event.step_key.replace("__", "/")
                        break
                self.stream.write(f"\r\x1b[K{self.line(period, step)}")
                self.stream.flush()

        self._thread = threading.Thread(target=refresh, daemon=True)
        self._thread.start()

    def line(self, period: Period, step: str) -> str:
        elapsed = time.monotonic() - self.started
        eta = ""
        if self.done:
            eta = f", about {_duration(elapsed / self.done * (self.total - self.done))} left"
        return f"[{self.done}/{self.total}] {period} {step}  {_duration(elapsed)} elapsed{eta}"

    def finish_period(self) -> None:
        self.done += 1
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def select_periods(settings: Settings, first: str | None, through: str | None) -> list[Period]:
    """The closed periods from `first` through `through` (both optional)."""
    ledger = resources(settings)["ledger"]
    try:
        closed = closed_periods(settings)
    except LedgerError as exc:
        raise UsageError(f"cannot read the ledger: {exc}") from None
    try:
        low, high = (None if text is None else Period.parse(text) for text in (first, through))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    for period in (low, high):
        if period and period not in closed:
            raise UsageError(
                f"period {period} is not closed in the ledger ({ledger.display_url}); "
                f"closed periods: {closed[0] if closed else '-'} .. {closed[-1] if closed else '-'}"
            )
    return [p for p in closed if (low is None or p >= low) and (high is None or p <= high)]


def warn_of_republication(
    vehicles: Collection[str], lake: Lake, periods: list[Period], say: Callable[[str], None]
) -> None:
    """Say before anything runs, and so before any message is sent, when
    several periods to run already have published packages: each one whose
    data changed becomes a new version its investors are told about."""
    published = [p for p in periods if any(lake.exists(PACKAGE, v, p) for v in vehicles)]
    if len(published) > 1:
        say(
            f"note: {len(published)} periods to run already have published packages "
            f"({published[0]} to {published[-1]}); each package whose data changed is "
            "published as a new version and its investors are told, unchanged ones are kept"
        )


def run_periods(
    settings: Settings,
    periods: list[Period],
    *,
    rerun: bool,
    parallel: bool = False,
    tags: dict[str, str] | None = None,
    instance: dg.DagsterInstance | None = None,
    say: Callable[[str], None] = print,
) -> list[PeriodReport]:
    """Run the monthly job for each period in order; stop at the first failure
    (later periods build on it). Returns what each run did."""
    defs = build_definitions(settings)
    job = defs.resolve_job_def(MONTHLY_CLOSE)
    known = {period_of(k) for k in job.partitions_def.get_partition_keys()}
    outside = [p for p in periods if p not in known]
    if outside:
        say(
            f"skipping closed periods outside the partitions (FIRST_PERIOD={settings.first_period}): "
            f"{', '.join(map(str, outside))}"
        )
    instance = instance or instance_for(settings)
    todo = [p for p in periods if p in known and (rerun or not succeeded(instance, p))]
    if todo and not parallel:
        import_in_background()
    progress = Progress(len(todo))
    reports = []
    lake = resources(settings)["lake"].lake
    # Read once for the whole run: the reports of every period name the same vehicles.
    vehicles = load_vehicles(settings.vehicles_dir)
    warn_of_republication(vehicles, lake, todo, say)
    for period in todo:
        run_id = str(uuid.uuid4())
        run_tags = {**(tags or {})}
        started = time.monotonic()
        progress.watch(instance, run_id, period)
        if parallel:
            result = dg.execute_job(
                dg.reconstructable(monthly_close_job),
                instance=instance,
                run_config={**QUIET_CONSOLE, **PARALLEL},
                tags={**run_tags, "dagster/partition": partition_key(period)},
            )
        else:
            result = job.execute_in_process(
                partition_key=partition_key(period),
                instance=instance,
                raise_on_error=False,
                run_config=QUIET_CONSOLE,
                run_id=run_id,
                tags=run_tags,
            )
        progress.finish_period()
        window = lake.read_optional(SNAPSHOT_WINDOW, SHARED, period) or {}
        report = PeriodReport(
            period=period,
            run_id=result.run_id,
            success=result.success,
            seconds=time.monotonic() - started,
            cutoff=window.get("cutoff", ""),
        )
        if result.success:
            report.packages = package_outcomes(vehicles, lake, period, result)
        else:
            report.failures = failure_report(result)
            bound = resources(settings)
            send_run_alerts(instance, result.run_id, bound["mail"], bound["control"])
        reports.append(report)
        say(describe(report))
        if not result.success:
            say("later periods were not run: each builds on the one before.")
            break
    return reports


def describe(report: PeriodReport) -> str:
    head = (
        f"{report.period}  {'ok' if report.success else 'FAILED'} in {_duration(report.seconds)}"
        f"  (ledger cutoff {report.cutoff or '-'}; run {report.run_id})"
    )
    lines = [head]
    lines += [f"  {vehicle:<9} {what}" for vehicle, what in sorted(report.packages.items())]
    lines += [f"  {failure}" for failure in report.failures]
    return "\n".join(lines)


def print_outputs(settings: Settings, reports: list[PeriodReport], total: float) -> None:
    lake = resources(settings)["lake"].lake
    done = (
        ", ".join(str(r.period) for r in reports) or "none (all closed periods were already done)"
    )
    print(f"\nperiods run now: {done} in {_duration(total)}")
    print(f"ledger:           {resources(settings)['ledger'].display_url}")
    print(f"lake (Parquet):   {lake.store.uri()}")
    print(f"published to:     {settings.publish_uri}")
    if reports:
        last = reports[-1].period
        print(f"latest period {last}:")
        print(f"  snapshot  {lake.uri(SNAPSHOT, SHARED, last)}")
        publisher = resources(settings)["publisher"].target
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


def run_command(
    settings: Settings, first: str | None, through: str | None, rerun: bool, parallel: bool
) -> int:
    """`funding run`: exit 0 when every period ran, 1 when one failed, 2 when
    the request itself cannot be run."""
    started = time.monotonic()
    try:
        periods = select_periods(settings, first, through)
    except UsageError as exc:
        print(exc)
        return 2
    reports = run_periods(settings, periods, rerun=rerun, parallel=parallel)
    print_outputs(settings, reports, time.monotonic() - started)
    return 0 if all(r.success for r in reports) else 1


def restate(
    settings: Settings,
    period_text: str,
    cutoff_text: str,
    reason: str,
    *,
    instance: dg.DagsterInstance | None = None,
    say: Callable[[str], None] = print,
) -> list[PeriodReport]:
    """Record a restatement of a closed period with a later cutoff, then
    re-run it and every later closed period (ledger.md, "restatement")."""
    if not reason.strip():
        raise UsageError("a restatement needs a reason (--reason)")
    try:
        period = Period.parse(period_text)
        cutoff = parse_cutoff(cutoff_text)
    except (ValueError, RestatementError) as exc:
        raise UsageError(str(exc)) from None
    log = RestatementLog(resources(settings)["control"].store)
    with resources(settings)["ledger"].session() as session:
        closes = session.period_closes()
    latest = log.latest(period)
    if latest and latest.cutoff_at == cutoff:
        # The same request again: nothing new to record; the re-run below
        # finds every package unchanged and publishes nothing.
        say(f"{period} is already restated at {latest.cutoff} ({latest.reason})")
    else:
        now = datetime.now(UTC).replace(tzinfo=None)
        try:
            current = check_restatement(closes, log.cutoffs(), period, cutoff, now)
        except RestatementError as exc:
            raise UsageError(str(exc)) from None
        record = Restatement(
            period=period.key,
            cutoff=f"{cutoff:{CUTOFF_FORMAT}}",
            reason=reason.strip(),
            recorded_at=datetime.now(UTC).isoformat(timespec="seconds"),
            replaces_cutoff=f"{current.closed_at:{CUTOFF_FORMAT}}",
        )
        log.record(record)
        say(
            f"{period}: cutoff {record.replaces_cutoff} -> {record.cutoff} recorded ({record.reason})"
        )
    later = [c.period for c in effective_closes(closes, log.cutoffs()) if c.period >= period]
    say(f"re-running {', '.join(map(str, later))} at the restated cutoffs")
    return run_periods(
        settings,
        later,
        rerun=True,
        tags={"funding/restatement": period.key},
        instance=instance,
        say=say,
    )


def restate_command(settings: Settings, period: str, cutoff: str, reason: str) -> int:
    started = time.monotonic()
    try:
        reports = restate(settings, period, cutoff, reason)
    except UsageError as exc:
        print(exc)
        return 2
    print_outputs(settings, reports, time.monotonic() - started)
    return 0 if all(r.success for r in reports) else 1
