"""Shared fixtures: a real PostgreSQL server started for the session, fresh
databases per test, and small ledgers written through the same loader on
both engines."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from tests.support.postgres_server import PostgresUnavailable, running_postgres

# The slowest modules, slowest first (measured with --durations; a stale
# entry only costs balance, never correctness).
SLOWEST_FIRST = [
    "test_restatement",
    "test_cli_and_webserver",
    "test_pipeline_dagster",
    "test_shared_instance",
    "test_realism",
    "test_wheel",
    "test_parallel_run",
    "test_tape_key",
    "test_run_killed",
    "test_delivery_and_s3",
]


def pytest_collection_modifyitems(items):
    """`make test` runs on two workers (pytest-xdist, `--dist loadscope
    --no-loadscope-reorder`: a module's tests, or a class's, stay on one
    worker, so module fixtures are built once). The longest jobs go first,
    then the other end-to-end tests, then the rest, so the workers finish
    together."""

    def rank(item) -> tuple[int, int]:
        name = item.path.stem
        if name in SLOWEST_FIRST:
            return (0, SLOWEST_FIRST.index(name))
        return (1 if "integration" in item.path.parts else 2, 0)

    items.sort(key=rank)


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server on a free loopback port; fails (never skips) if it cannot start."""
    try:
        with running_postgres() as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on the session's server."""
    name = f"ledger_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(f"{postgres_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    yield f"{postgres_server}/{name}"


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request):
    """Each test using this runs on SQLite and on a real PostgreSQL server."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")
