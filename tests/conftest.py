"""Shared fixtures: a real PostgreSQL server started for the session, fresh
databases per test, and small ledgers written through the same loader on
both engines."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from tests.support.postgres_server import PostgresUnavailable, running_postgres


def pytest_collection_modifyitems(items):
    """`make test` runs on two workers (pytest-xdist, `--dist loadscope`: a
    module's tests, or a class's, stay on one worker, so module fixtures are
    built once). The end-to-end tests go first: the longest jobs first, so
    the workers finish together."""
    items.sort(key=lambda item: "integration" not in item.path.parts)


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
