"""The monthly close, measured: a ledger of N accounts x M months on
PostgreSQL, every period closed through `funding run` exactly as an operator
runs it, and the figures issue-level targets speak of.

    .venv/bin/python bench/close.py --accounts 100000 --months 13
    .venv/bin/python bench/close.py --accounts 1000000 --months 13
    .venv/bin/python bench/close.py --fixed-cost          # one period of 500 accounts
    .venv/bin/python bench/close.py --demo                # `make demo`, after install

For each period it records the wall time of `funding run` (a child process,
so its peak RSS is its own), the time of every step from the Dagster event
log, and the rows PostgreSQL read from `postings` and `journal_entries`
(`pg_stat_user_tables` deltas) against the rows of the period's window. For
the last period it measures the floors on the same data: COPY of the
window's lines (the needed columns of the postings that newly count) to
nothing, and one DuckDB scan of the snapshot's Parquet; each stage's time is
printed as a ratio to its floor. It ends by checking its own outputs: a full
trial balance recomputed from every posting against the last snapshot, and
`funding verify` on every package of the last period.

Results are appended to bench/results/close.jsonl; bench/README.md keeps
the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import dagster as dg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from funding.demo import SeedConfig, seed_ledger  # noqa: E402
from funding.ledger.closes import Window, previous_close  # noqa: E402
from funding.ledger.database import read_ledger  # noqa: E402
from funding.ledger.sql import render  # noqa: E402
from tests.support.postgres_server import ledger_rows_read, running_postgres  # noqa: E402

FUNDING = str(Path(sys.executable).parent / "funding")
BENCH_KEY = "bench-tape-key"
PG_OPTIONS = "-c shared_buffers=2GB -c max_wal_size=8GB -c work_mem=64MB"


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
    }


def run_child(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (MiB) and output of a child process."""
    started = time.perf_counter()
    process = subprocess.Popen(
        args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{output}")
    return seconds, usage.ru_maxrss // 1024, output


def step_seconds(dagster_home: Path) -> dict[str, float]:
    """Seconds per step of the latest run in the instance, from its event log."""
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    (run,) = instance.get_runs(limit=1)
    started: dict[str, float] = {}
    took: dict[str, float] = {}
    for record in instance.all_logs(run.run_id):
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = record.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            took[event.step_key] = round(record.timestamp - started[event.step_key], 2)
    instance.dispose()
    return took


def window_rows(lake: Path, period: str) -> dict[str, int]:
    record = json.loads((lake / "receivables_snapshot" / f"{period}.json").read_text())
    return {"entries": record.get("window_entries", 0), "lines": record.get("window_lines", 0)}


def copy_floor(url: str, period: str) -> float:
    """COPY of the period's window lines, the needed columns, to nothing."""
    import psycopg

    with read_ledger(url) as session:
        closes = session.period_closes()
    close = next(c for c in closes if c.period.key == period)
    params = Window(close, previous_close(closes, close.period)).params()
    statement = render("window_postings.sql", "postgresql")
    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SET jit = off")
        cur.execute("SET enable_hashjoin = off")
        cur.execute("SET enable_mergejoin = off")
        started = time.perf_counter()
        with cur.copy(f"COPY ({statement}) TO STDOUT (FORMAT csv)", params) as copy:
            for _ in copy:
                pass
        return time.perf_counter() - started


def duckdb_floor(lake: Path, period: str) -> float:
    import duckdb

    path = lake / "receivables_snapshot" / f"{period}.parquet"
    started = time.perf_counter()
    duckdb.sql(
        f"SELECT vehicle_id, count(*), sum(principal_cents), sum(total_cents) "
        f"FROM read_parquet('{path}') GROUP BY vehicle_id"
    ).fetchall()
    return time.perf_counter() - started


def full_trial_balance_matches(url: str, lake: Path, period: str) -> bool:
    import polars as pl

    with read_ledger(url) as session:
        closes = session.period_closes()
        close = next(c for c in closes if c.period.key == period)
        ledger = dict(
            session.rows("trial_balance.sql", cutoff=close.closed_at, period_end=close.period_end)
        )
    snapshot = pl.read_parquet(lake / "receivables_snapshot" / f"{period}.parquet")
    return all(
        int(ledger.get(gl) or 0) == int(snapshot[column].sum())
        for gl, column in (
            ("receivable:principal", "principal_cents"),
            ("receivable:interest", "interest_cents"),
            ("receivable:fees", "fees_cents"),
        )
    )


def close_every_period(url: str, workdir: Path, months: int, env_extra: dict) -> dict:
    lake, home = workdir / "lake", workdir / "dagster"
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("LEDGER_", "LAKE_", "PUBLISH_"))
        },
        "LEDGER_URL": url,
        "LAKE_URI": str(lake),
        "PUBLISH_URI": str(workdir / "publish"),
        "DAGSTER_HOME": str(home),
        "FUNDING_VAR_DIR": str(workdir / "var"),
        "TAPE_HMAC_KEY": BENCH_KEY,
        **env_extra,
    }
    periods = [p.key for p in (SeedConfig().first_period.plus(i) for i in range(months))]
    results = []
    for period in periods:
        before = ledger_rows_read(url) if url.startswith("postgresql") else {}
        seconds, rss, _ = run_child(
            [FUNDING, "run", "--period", period, "--through", period], env, workdir
        )
        time.sleep(1.5)  # the server publishes a backend's table statistics when it ends
        after = ledger_rows_read(url) if url.startswith("postgresql") else {}
        steps = step_seconds(home)
        window = window_rows(lake, period)
        reads = {t: after[t] - before[t] for t in after}
        row = {
            "period": period,
            "seconds": round(seconds, 1),
            "peak_rss_mib": rss,
            "extraction_seconds": steps.get("receivables_snapshot"),
            "window": window,
            "rows_read": reads,
            "read_ratio": round(
                sum(reads.values()) / max(1, window["entries"] + window["lines"]), 2
            )
            if reads
            else None,
            "steps": steps,
        }
        results.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "steps"}), flush=True)
    last = periods[-1]
    floors = {"duckdb_snapshot_scan": round(duckdb_floor(lake, last), 3)}
    if url.startswith("postgresql"):
        floors["copy_window"] = round(copy_floor(url, last), 2)
    verified = all(
        subprocess.run(
            [FUNDING, "verify", str(workdir / "publish" / vehicle / last)],
            env=env,
            capture_output=True,
        ).returncode
        == 0
        for vehicle in ("wh1", "trust1")
        if (workdir / "publish" / vehicle / last).exists()
    )
    return {
        "periods": results,
        "floors": floors,
        "full_trial_balance_matches": full_trial_balance_matches(url, lake, last),
        "packages_verified": verified,
    }


def per_window_line(row: dict) -> float | None:
    lines = row["window"]["entries"] + row["window"]["lines"]
    if not row["extraction_seconds"] or not lines:
        return None
    return round(row["extraction_seconds"] / lines * 1e6, 3)  # microseconds


def summary(report: dict) -> None:
    periods = report["periods"]
    last = periods[-1]
    floors = report["floors"]
    print(
        f"\nlast period {last['period']}: {last['seconds']} s, peak RSS {last['peak_rss_mib']} MiB"
    )
    for step, seconds in sorted(last["steps"].items(), key=lambda kv: -kv[1]):
        floor = (
            floors.get("copy_window")
            if step == "receivables_snapshot"
            else floors["duckdb_snapshot_scan"]
        )
        ratio = f"{seconds / floor:6.1f}x its floor" if floor else ""
        print(f"  {step:<45} {seconds:7.2f} s  {ratio}")
    if len(periods) >= 3:
        third = periods[2]
        print(
            f"extraction per window row: period 3 {per_window_line(third)} us, "
            f"period {len(periods)} {per_window_line(last)} us"
        )
    print(f"floors: {floors}")
    print(
        f"full trial balance matches: {report['full_trial_balance_matches']}; "
        f"packages verified: {report['packages_verified']}"
    )


def ledger_close(args) -> dict:
    workdir = Path(args.workdir or ROOT / "var" / "bench" / f"close-{args.accounts}")
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    config = SeedConfig(accounts=args.accounts, months=args.months)
    with running_postgres(PG_OPTIONS) as server:
        admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql("CREATE DATABASE bench")
        admin.dispose()
        url = f"{server}/bench"
        seed = seed_ledger(url, config)
        print(f"seeded {seed.total_rows:,} rows in {seed.seconds:.0f} s", flush=True)
        report = close_every_period(url, workdir, args.months, {})
    report["seed"] = {"rows": seed.total_rows, "seconds": round(seed.seconds, 1)}
    return report


def fixed_cost(args) -> dict:
    workdir = Path(args.workdir or ROOT / "var" / "bench" / "fixed-cost")
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    url = f"sqlite:///{workdir / 'ledger.sqlite'}"
    # The vehicles close in the first month and report from the second: the
    # second period is the first full close (validation, reports, delivery).
    seed_ledger(url, SeedConfig(accounts=500, months=2))
    return close_every_period(url, workdir, 2, {})


def demo(args) -> dict:
    # A fresh demo: without its parameter record, `make demo` starts clean.
    (ROOT / "var" / "demo-parameters").unlink(missing_ok=True)
    seconds, rss, output = run_child(["make", "demo"], dict(os.environ), ROOT)
    return {"seconds": round(seconds, 1), "tail": output.splitlines()[-3:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=13)
    parser.add_argument("--workdir")
    parser.add_argument("--fixed-cost", action="store_true", help="one period of 500 accounts")
    parser.add_argument("--demo", action="store_true", help="time `make demo`")
    args = parser.parse_args()
    start = machine()
    if args.demo:
        kind, report = "demo", demo(args)
    elif args.fixed_cost:
        kind, report = "fixed_cost", fixed_cost(args)
    else:
        kind, report = f"close_{args.accounts}", ledger_close(args)
    if kind != "demo":
        summary(report)
    else:
        print(f"make demo: {report['seconds']} s")
    record = {"kind": kind, "machine": start, "load_average_end": os.getloadavg(), **report}
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    with (out / "close.jsonl").open("a") as fh:
        fh.write(json.dumps(record, default=str) + "\n")


if __name__ == "__main__":
    main()
