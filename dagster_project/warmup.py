"""Costs paid once per process, paid early.

- The libraries the validation and publishing steps import (Great
  Expectations ~10 s, WeasyPrint ~3 s on this machine) are imported in a
  background thread when a run starts, so their import overlaps the run's
  own I/O instead of stalling the first validation step.
- The embedded Dagster instance keeps its run and event storage in SQLite
  files under DAGSTER_HOME, committing every event; in WAL mode with
  `synchronous=NORMAL` a commit no longer waits for the disk (a crash can
  lose the last events of the log, never corrupt it). The shared deployment
  keeps its instance in PostgreSQL and is not affected.
"""

from __future__ import annotations

import importlib
import sqlite3
import threading
from pathlib import Path

import sqlalchemy as sa

HEAVY_IMPORTS = ("great_expectations", "weasyprint")
_tuned: set[str] = set()


def import_in_background(modules: tuple[str, ...] = HEAVY_IMPORTS) -> threading.Thread:
    def run() -> None:
        for name in modules:
            importlib.import_module(name)

    thread = threading.Thread(target=run, name="warm-up imports", daemon=True)
    thread.start()
    return thread


def relax_embedded_instance_commits(dagster_home: Path) -> None:
    """`synchronous=NORMAL` on SQLite connections to files under `dagster_home`."""
    home = str(Path(dagster_home).resolve())
    if home in _tuned:
        return
    _tuned.add(home)

    @sa.event.listens_for(sa.engine.Engine, "connect")
    def _normal_sync(dbapi_connection, _record) -> None:
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        for _, name, path in dbapi_connection.execute("PRAGMA database_list"):
            if name == "main" and path and path.startswith(home):
                dbapi_connection.execute("PRAGMA synchronous=NORMAL")
