"""Bulk loading of a ledger into a fresh database (adapter; the demo
generator is its one user).

PostgreSQL loads through COPY; SQLite through executemany in one transaction.
Constraints and indexes that slow a load down are applied after it, and the
balanced-entry rule is validated then.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from funding.ledger.closes import LedgerError
from funding.ledger.database import dialect_of
from funding.ledger.sql import statements


@dataclass
class LoadReport:
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _sqlite_timestamps(frame: pl.DataFrame) -> pl.DataFrame:
    """Write timestamps in the mixed ISO forms real SQLite ledgers hold."""
    exprs = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            col = pl.col(name)
            variant = pl.int_range(pl.len()) % 3
            exprs.append(
                pl.when(variant == 0)
                .then(col.dt.strftime("%Y-%m-%d %H:%M:%S"))
                .when(variant == 1)
                .then(col.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f"))
                .otherwise(col.dt.strftime("%Y-%m-%d %H:%M:%S%.3f"))
                .alias(name)
            )
        elif dtype == pl.Date():
            exprs.append(pl.col(name).dt.strftime("%Y-%m-%d"))
    return frame.with_columns(exprs) if exprs else frame


class LedgerWriter:
    def __init__(self, url: str):
        self.url = url
        self.dialect = dialect_of(url)
        self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool)

    def create_schema(self) -> None:
        self._run_script(
            "ledger_postgres.sql" if self.dialect == "postgresql" else "ledger_sqlite.sql"
        )

    def finish(self) -> None:
        """Indexes and constraints after the load, then the balance validation."""
        self._run_script(
            "ledger_postgres_after_load.sql"
            if self.dialect == "postgresql"
            else "ledger_sqlite_after_load.sql"
        )
        self._run_statements(["ANALYZE"])
        unbalanced = self.unbalanced_entries()
        if unbalanced:
            raise LedgerError(f"loaded ledger has unbalanced entries: {unbalanced[:20]}")

    def _run_script(self, name: str) -> None:
        self._run_statements(statements(name))

    def _run_statements(self, texts: list[str]) -> None:
        # Through the driver without parameters, so '%' in DDL stays literal.
        proxy = self.engine.raw_connection()
        try:
            cur = proxy.cursor()
            for text in texts:
                cur.execute(text)
            proxy.commit()
        finally:
            proxy.close()

    def unbalanced_entries(self) -> list[tuple]:
        query = (
            "SELECT entry_id, SUM(amount_cents) FROM postings GROUP BY entry_id "
            "HAVING SUM(amount_cents) <> 0 ORDER BY entry_id LIMIT 20"
        )
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(query).fetchall()]

    def load(self, batches: Iterable[tuple[str, pl.DataFrame]]) -> LoadReport:
        report = LoadReport()
        started = time.perf_counter()
        proxy = self.engine.raw_connection()
        driver = proxy.driver_connection
        if self.dialect == "sqlite":
            driver.execute("PRAGMA journal_mode = WAL")
            driver.execute("PRAGMA synchronous = OFF")
        try:
            for table, frame in batches:
                if frame.height == 0:
                    continue
                if self.dialect == "postgresql":
                    self._copy(driver, table, frame)
                else:
                    self._insert(driver, table, frame)
                report.rows[table] = report.rows.get(table, 0) + frame.height
            driver.commit()
        except Exception:
            driver.rollback()
            raise
        finally:
            proxy.close()
        report.seconds = time.perf_counter() - started
        return report

    @staticmethod
    def _copy(driver, table: str, frame: pl.DataFrame) -> None:
        buffer = io.BytesIO()
        frame.write_csv(buffer, include_header=False, datetime_format="%Y-%m-%d %H:%M:%S%.6f")
        columns = ", ".join(frame.columns)
        with (
            driver.cursor() as cur,
            cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy,
        ):
            copy.write(buffer.getvalue())

    @staticmethod
    def _insert(driver, table: str, frame: pl.DataFrame) -> None:
        frame = _sqlite_timestamps(frame)
        columns = ", ".join(frame.columns)
        marks = ", ".join("?" for _ in frame.columns)
        driver.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", frame.iter_rows())


def write_ledger(url: str, batches: Iterable[tuple[str, pl.DataFrame]]) -> LoadReport:
    """Create the ledger schema in a fresh database at `url` and load `batches`
    (table name, rows) into it, then index and validate it."""
    writer = LedgerWriter(url)
    if writer.dialect == "sqlite":
        _fresh_sqlite_file(url)
    writer.create_schema()
    report = writer.load(batches)
    writer.finish()
    return report


def _fresh_sqlite_file(url: str) -> None:
    # A seed never appends to an old demo ledger.
    database = sa.make_url(url).database
    if database and database != ":memory:":
        path = Path(database)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
