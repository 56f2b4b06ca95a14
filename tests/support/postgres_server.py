"""Start a throwaway PostgreSQL 15 server on loopback (tests and benchmarks).

The server refuses to run as root, so as root it runs as the `postgres` user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


class PostgresUnavailable(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class PostgresServer:
    """A running server that a test can stop and start again (same data, same port)."""

    def __init__(self, root: Path, port: int, options: str):
        self.root, self.port, self.options = root, port, options
        self.data = root / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}"

    def _ctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args]),
            capture_output=True,
            text=True,
        )

    def start(self) -> None:
        started = self._ctl("-o", self.options, "-l", str(self.root / "log"), "-w", "start")
        if started.returncode:
            log = (self.root / "log").read_text() if (self.root / "log").exists() else ""
            raise PostgresUnavailable(
                f"PostgreSQL did not start: {started.stderr or started.stdout}\n{log}"
            )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` disconnects every client (what a restart does)."""
        self._ctl("-m", mode, "-w", "stop")


@contextmanager
def running_postgres_server(extra_options: str = "") -> Iterator[PostgresServer]:
    """A throwaway server on a free loopback port, stopped and removed on exit."""
    if not (PG_BIN / "postgres").exists():
        raise PostgresUnavailable(
            f"PostgreSQL binaries not found in {PG_BIN}: run `make test` (it installs postgresql-15)"
        )
    root = Path(tempfile.mkdtemp(prefix="funding-pg-"))
    data, sockets = root / "data", root / "sock"
    data.mkdir()
    sockets.mkdir()
    if os.geteuid() == 0:
        for path in (root, data, sockets):
            shutil.chown(path, "postgres")
    port = _free_port()
    try:
        init = subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                ]
            ),
            capture_output=True,
            text=True,
        )
        if init.returncode:
            raise PostgresUnavailable(f"initdb failed: {init.stderr or init.stdout}")
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off "
            f"-c full_page_writes=off {extra_options}"
        )
        server = PostgresServer(root, port, options)
        server.start()
        try:
            yield server
        finally:
            server.stop("immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def running_postgres(extra_options: str = "") -> Iterator[str]:
    """Yields a SQLAlchemy URL prefix `postgresql+psycopg://postgres@127.0.0.1:PORT`."""
    with running_postgres_server(extra_options) as server:
        yield server.url


def ledger_rows_read(url: str) -> dict[str, int]:
    """Rows the server has read from `postings` and `journal_entries` so far
    (sequential and index fetches, from `pg_stat_user_tables`)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT relname, seq_tup_read + COALESCE(idx_tup_fetch, 0) FROM pg_stat_user_tables "
            "WHERE relname IN ('postings', 'journal_entries')"
        ).fetchall()
    engine.dispose()
    return {name: int(count) for name, count in rows}
