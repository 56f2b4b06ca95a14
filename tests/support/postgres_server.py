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


@contextmanager
def running_postgres(extra_options: str = "") -> Iterator[str]:
    """Yields a SQLAlchemy URL prefix `postgresql+psycopg://postgres@127.0.0.1:PORT`."""
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
        start = subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-l",
                    str(root / "log"),
                    "-w",
                    "start",
                ]
            ),
            capture_output=True,
            text=True,
        )
        if start.returncode:
            log = (root / "log").read_text() if (root / "log").exists() else ""
            raise PostgresUnavailable(
                f"PostgreSQL did not start: {start.stderr or start.stdout}\n{log}"
            )
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
        finally:
            subprocess.run(
                _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                capture_output=True,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
