"""Read-only access to the ledger database, PostgreSQL or SQLite (adapter).

Everything a run reads comes through one `LedgerSession`: one read-only
transaction with a consistent snapshot (REPEATABLE READ on PostgreSQL, a
single read transaction on SQLite), so a ledger written to during the run
cannot tear the extraction. Results arrive as typed Polars frames; PostgreSQL
results stream through `COPY ... TO STDOUT` (several times faster than row
fetching at a million accounts).

Faults: connecting is retried with backoff while the server is unreachable
(a restart, a failover); a connection lost inside a session cannot be
resumed without losing the snapshot, so it surfaces as `LedgerUnavailable`
and the caller repeats the whole read (the extraction step asks Dagster
for a retry).

Least privilege: the session is read-only at the database, not only by
convention (`SET TRANSACTION READ ONLY` on PostgreSQL, `PRAGMA query_only`
on SQLite), and on PostgreSQL the extraction needs nothing beyond SELECT
(`sql/ledger_reader_role.sql`).
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from funding.ledger.closes import LedgerError, PeriodClose
from funding.ledger.sql import render

CONNECT_ATTEMPTS = 6  # 0.25 + 0.5 + 1 + 2 + 4 s of waiting: a restart fits
CONNECT_FIRST_WAIT = 0.25


class LedgerUnavailable(LedgerError):
    """The ledger server could not be reached, or the connection was lost
    mid-read: transient, the whole read can be repeated."""


def parse_timestamp(value: str | datetime) -> datetime:
    """A ledger timestamp: a datetime, or ISO text in any of SQLite's forms."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise TypeError(f"a {type(value).__name__}, not ISO text")
    text = value.strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is not None:  # the contract's timestamps are naive UTC
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def dialect_of(url: str) -> str:
    name = sa.make_url(url).get_backend_name()
    if name not in ("postgresql", "sqlite"):
        raise LedgerError(f"LEDGER_URL must be a PostgreSQL or SQLite URL, got backend {name!r}")
    return name


def redact(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


class LedgerSession:
    """Queries inside one read-only, consistent transaction."""

    def __init__(self, dbapi_connection: Any, dialect: str):
        self._conn = dbapi_connection
        self.dialect = dialect

    def _bind(self, params: Mapping[str, Any]) -> dict[str, Any]:
        if self.dialect == "postgresql":
            return dict(params)
        # sqlite3 takes text for dates and timestamps; TS() normalises the latter.
        bound = {}
        for key, value in params.items():
            if isinstance(value, datetime):
                bound[key] = value.isoformat(sep=" ", timespec="microseconds")
            elif isinstance(value, date):
                bound[key] = value.isoformat()
            else:
                bound[key] = value
        return bound

    def frame(
        self, sql_name: str, schema: Mapping[str, pl.DataType], **params: Any
    ) -> pl.DataFrame:
        """Run a named query and return its rows typed by `schema` (column order too)."""
        statement = render(sql_name, self.dialect)
        bound = self._bind(params)
        if self.dialect == "postgresql":
            buffer = io.BytesIO()
            with (
                self._conn.cursor() as cur,
                cur.copy(f"COPY ({statement}) TO STDOUT (FORMAT csv, HEADER true)", bound) as copy,
            ):
                for chunk in copy:
                    buffer.write(chunk)
            buffer.seek(0)
            if buffer.getbuffer().nbytes == 0:
                return pl.DataFrame(schema=dict(schema))
            return pl.read_csv(buffer, schema=dict(schema))
        with _decoding(sql_name):
            cur = self._conn.execute(statement, bound)
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        if names != list(schema):
            raise LedgerError(
                f"{sql_name}: columns {names} do not match the expected {list(schema)}"
            )
        raw = pl.DataFrame(
            rows, schema=[(n, _sqlite_carrier(t)) for n, t in schema.items()], orient="row"
        )
        return raw.with_columns(
            pl.col(n).str.to_date("%Y-%m-%d") for n, t in schema.items() if t == pl.Date()
        )

    @contextmanager
    def planner(self, **settings: str) -> Iterator[None]:
        """PostgreSQL planner settings for the statements inside (no-op on SQLite)."""
        if self.dialect != "postgresql":
            yield
            return
        with self._conn.cursor() as cur:
            for name, value in settings.items():
                cur.execute(f"SET LOCAL {_setting(name)} = {_setting(value)}")
        try:
            yield
        finally:
            with self._conn.cursor() as cur:
                for name in settings:
                    cur.execute(f"RESET {_setting(name)}")

    def rows(self, sql_name: str, **params: Any) -> list[tuple]:
        """Small result sets as plain tuples (period closes, check findings)."""
        statement = render(sql_name, self.dialect)
        with _decoding(sql_name):
            cur = self._conn.cursor()
            cur.execute(statement, self._bind(params))
            return [tuple(r) for r in cur.fetchall()]

    def idempotency_keys_enforced(self) -> bool:
        """Whether the ledger's UNIQUE constraint on journal_entries.idempotency_key exists."""
        if self.dialect == "postgresql":
            return self.rows("unique_keys.sql")[0][0] > 0
        for _, index, unique, *_ in self._conn.execute("PRAGMA index_list(journal_entries)"):
            columns = [r[2] for r in self._conn.execute(f"PRAGMA index_info('{index}')")]
            if unique and columns == ["idempotency_key"]:
                return True
        return False

    def period_closes(self) -> list[PeriodClose]:
        closes = []
        for period_end, closed_at in self.rows("period_closes.sql"):
            try:
                if isinstance(period_end, str):
                    period_end = date.fromisoformat(period_end)
                closes.append(PeriodClose(period_end, parse_timestamp(closed_at)))
            except (TypeError, ValueError) as exc:
                raise LedgerError(
                    f"period_closes row period_end={period_end}: closed_at {closed_at!r} is "
                    f"not a timestamp (expected YYYY-MM-DD HH:MM:SS[.ffffff]): {exc}"
                ) from None
        return closes


@contextmanager
def _decoding(sql_name: str) -> Iterator[None]:
    """SQLite stores whatever bytes it is given as text; text that is not
    UTF-8 is refused with the query and the column named."""
    try:
        yield
    except Exception as exc:
        if "decode" not in str(exc).lower():
            raise
        raise LedgerError(
            f"{sql_name}: the ledger holds text that is not UTF-8 ({exc}); "
            "the ledger contract's text is UTF-8"
        ) from None


def _setting(word: str) -> str:
    if not word.replace("_", "").isalnum():
        raise ValueError(f"not a planner setting: {word!r}")
    return word


def _sqlite_carrier(dtype: pl.DataType) -> pl.DataType:
    # SQLite hands dates over as text; they are parsed after loading.
    return pl.String() if dtype == pl.Date() else dtype


def _connection_lost(exc: BaseException, dialect: str) -> bool:
    if dialect != "postgresql":
        return False
    import psycopg

    return isinstance(exc, psycopg.OperationalError | sa.exc.OperationalError)


def _connect(engine: sa.Engine, url: str, attempts: int, first_wait: float) -> Any:
    # raw_connection() raises the driver's own error, not SQLAlchemy's wrapper.
    refused = (sa.exc.OperationalError, engine.dialect.loaded_dbapi.OperationalError)
    wait = first_wait
    for attempt in range(1, attempts + 1):
        try:
            return engine.raw_connection()
        except refused as exc:
            if attempt == attempts:
                tries = f" ({attempts} attempts)" if attempts > 1 else ""
                reason = getattr(exc, "orig", None) or exc
                raise LedgerUnavailable(
                    f"cannot connect to the ledger at {redact(url)}: {reason}{tries}"
                ) from exc
            time.sleep(wait)
            wait *= 2
    raise AssertionError("unreachable")


@contextmanager
def read_ledger(
    url: str,
    connect_attempts: int = CONNECT_ATTEMPTS,
    first_wait: float = CONNECT_FIRST_WAIT,
) -> Iterator[LedgerSession]:
    """A read-only session with a consistent snapshot of the ledger at `url`.

    Connecting is retried (`connect_attempts`, waits doubling from
    `first_wait` seconds); a connection lost during the session raises
    `LedgerUnavailable`.
    """
    dialect = dialect_of(url)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    # A SQLite file is there or not: only a server is worth waiting for.
    attempts = connect_attempts if dialect == "postgresql" else 1
    proxy = _connect(engine, url, attempts, first_wait)
    driver = proxy.driver_connection
    lost = False
    try:
        if dialect == "postgresql":
            import psycopg

            driver.rollback()
            driver.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            driver.read_only = True  # every transaction: SET TRANSACTION READ ONLY
            # JIT compilation costs more than it saves on these queries.
            driver.execute("SET jit = off")
        else:
            driver.isolation_level = None  # we issue BEGIN ourselves
            driver.execute("PRAGMA query_only = ON")
            driver.execute("BEGIN")
        yield LedgerSession(driver, dialect)
    except Exception as exc:
        if _connection_lost(exc, dialect) and getattr(driver, "broken", False):
            lost = True
            raise LedgerUnavailable(
                f"lost the connection to the ledger at {redact(url)}: {exc}"
            ) from exc
        raise
    finally:
        try:
            if not lost:
                driver.rollback() if dialect == "postgresql" else driver.execute("ROLLBACK")
        finally:
            proxy.close()
            engine.dispose()
