"""Generation and extraction throughput on SQLite and PostgreSQL.

    .venv/bin/python bench/run.py --accounts 100000 --months 12 [--engines sqlite,postgresql]

Seeds a synthetic ledger, then extracts every closed period's receivables
snapshot (the same code path as the Dagster asset) and reports rows/s and
peak memory (max RSS of this process). Results are appended to
bench/results/results.jsonl.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from funding.demo import SeedConfig, seed_ledger  # noqa: E402
from funding.ledger.database import read_ledger  # noqa: E402
from funding.ledger.extract import extract_periods  # noqa: E402
from tests.support.postgres_server import running_postgres  # noqa: E402


def measure(url: str, config: SeedConfig) -> dict:
    report = seed_ledger(url, config)
    started = time.perf_counter()
    snapshot_rows = 0
    with read_ledger(url) as session:
        for _, snapshot in extract_periods(session):
            snapshot_rows += snapshot.height
    extract_seconds = time.perf_counter() - started
    postings = report.rows.get("postings", 0)
    return {
        "accounts": config.accounts,
        "months": config.months,
        "ledger_rows": report.total_rows,
        "postings": postings,
        "seed_seconds": round(report.seconds, 1),
        "seed_rows_per_s": round(report.total_rows / report.seconds),
        "extract_seconds": round(extract_seconds, 1),
        "extract_postings_per_s": round(postings / extract_seconds),
        "snapshot_rows": snapshot_rows,
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--workdir", default=str(ROOT / "var" / "bench"))
    args = parser.parse_args()
    config = SeedConfig(accounts=args.accounts, months=args.months)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    for engine in args.engines.split(","):
        if engine == "sqlite":
            result = measure(f"sqlite:///{workdir / f'ledger_{args.accounts}.sqlite'}", config)
        else:
            with running_postgres("-c shared_buffers=1GB -c max_wal_size=8GB") as server:
                admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.exec_driver_sql("CREATE DATABASE bench")
                admin.dispose()
                result = measure(f"{server}/bench", config)
        result["engine"] = engine
        print(json.dumps(result), flush=True)
        with (out / "results.jsonl").open("a") as fh:
            fh.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
