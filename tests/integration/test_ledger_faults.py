"""The PostgreSQL ledger, faulty and locked down: reads survive a server
restart (between reads, and in the middle of the extraction step), and the
extraction works with a role that can only SELECT, in sessions that refuse
every write.

The server is real and is really stopped and started (its own, so the
session's shared server is left alone); nothing of ours is patched.
"""

from __future__ import annotations

import threading
import time
import uuid
from importlib.resources import files

import dagster as dg
import psycopg
import pytest
import sqlalchemy as sa

from assets.stage import SNAPSHOT_KEY
from dagster_project.definitions import build_definitions
from dagster_project.jobs import MONTHLY_CLOSE
from funding.demo import SeedConfig, seed_ledger
from funding.ledger.database import LedgerUnavailable, read_ledger
from funding.ledger.extract import extract_periods
from tests.support.dagster_helpers import failure_text, settings_for
from tests.support.postgres_server import running_postgres_server


def create_database(server_url: str) -> str:
    name = f"ledger_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(f"{server_url}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return f"{server_url}/{name}"


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="module")
def restartable():
    """A server of this module's own, with a small seeded ledger."""
    with running_postgres_server() as server:
        url = create_database(server.url)
        seed_ledger(url, SeedConfig(accounts=150, months=2))
        yield server, url


def every_snapshot(url: str, **kwargs) -> dict[str, object]:
    with read_ledger(url, **kwargs) as session:
        return {str(close.period): frame for close, frame in extract_periods(session)}


def restart_later(server, delay: float) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay), server.start()))
    thread.start()
    return thread


def test_a_read_after_a_server_restart_waits_for_the_server(restartable):
    server, url = restartable
    before = every_snapshot(url)
    assert sorted(before) == ["2025-01", "2025-02"]

    server.stop()
    with pytest.raises(psycopg.OperationalError):  # the server is really down
        psycopg.connect(libpq(url), connect_timeout=2).close()
    starting = restart_later(server, 1.0)
    try:
        after = every_snapshot(url)  # connects while the server is still down
    finally:
        starting.join()
    assert sorted(after) == sorted(before)
    for key in before:
        assert after[key].equals(before[key]), key


def test_a_server_that_stays_down_is_named_after_the_attempts(restartable):
    server, url = restartable
    server.stop()
    try:
        with pytest.raises(LedgerUnavailable) as caught:
            every_snapshot(url, connect_attempts=2, first_wait=0.1)
    finally:
        server.start()
    assert "cannot connect to the ledger" in str(caught.value)
    assert "(2 attempts)" in str(caught.value)


def snapshot_job(settings):
    return build_definitions(settings).resolve_job_def(MONTHLY_CLOSE)


def test_the_extraction_step_is_retried_after_the_server_restarts_mid_read(restartable, tmp_path):
    server, url = restartable
    clean_settings = settings_for(tmp_path / "clean", url)
    clean = snapshot_job(clean_settings).execute_in_process(
        partition_key="2025-01",
        instance=dg.DagsterInstance.ephemeral(),
        asset_selection=[SNAPSHOT_KEY],
    )
    assert clean.success
    expected = (
        tmp_path / "clean" / "lake" / "receivables_snapshot" / "2025-01.parquet"
    ).read_bytes()

    # Hold a lock the extraction's queries wait for, then restart the server
    # while the extraction is blocked inside its session: its connection dies.
    blocker = psycopg.connect(libpq(url))
    blocker.execute("LOCK TABLE postings IN ACCESS EXCLUSIVE MODE")
    settings = settings_for(tmp_path / "faulty", url)
    job = snapshot_job(settings)
    outcome: dict = {}

    def run() -> None:
        outcome["result"] = job.execute_in_process(
            partition_key="2025-01",
            instance=dg.DagsterInstance.ephemeral(),
            asset_selection=[SNAPSHOT_KEY],
            raise_on_error=False,
        )

    runner = threading.Thread(target=run)
    runner.start()
    deadline = time.monotonic() + 60
    with psycopg.connect(libpq(url), autocommit=True) as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            ).fetchone()[0]
            if waiting:
                break
            time.sleep(0.05)
    assert waiting, "the extraction never waited for the lock"
    server.stop()  # every connection is cut, the blocker's too
    blocker.close()
    server.start()
    runner.join(timeout=120)
    result = outcome["result"]

    assert result.success, failure_text(result)
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retries) == 1
    got = (tmp_path / "faulty" / "lake" / "receivables_snapshot" / "2025-01.parquet").read_bytes()
    assert got == expected  # the same bytes as a run that met no fault


# --------------------------------------------------------------------------- least privilege


@pytest.fixture
def reader_ledger(postgres_server):
    """A seeded ledger on the session's server and the read-only role of
    `sql/ledger_reader_role.sql`, created by running that file."""
    owner_url = create_database(postgres_server)
    seed_ledger(owner_url, SeedConfig(accounts=60, months=1))
    script = files("sql").joinpath("ledger_reader_role.sql").read_text()
    with psycopg.connect(libpq(owner_url), autocommit=True) as conn:
        conn.execute(script)
    reader_url = owner_url.replace("postgres@", "funding_reader@", 1)
    return owner_url, reader_url


def test_extraction_works_with_the_select_only_role(reader_ledger):
    owner_url, reader_url = reader_ledger
    as_owner, as_reader = every_snapshot(owner_url), every_snapshot(reader_url)
    assert sorted(as_reader) == ["2025-01"]
    assert as_reader["2025-01"].height > 0
    assert as_reader["2025-01"].equals(as_owner["2025-01"])


def test_the_reader_role_cannot_write_even_outside_a_read_only_transaction(reader_ledger):
    _, reader_url = reader_ledger
    with psycopg.connect(libpq(reader_url), autocommit=True) as conn:
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        conn.execute("SET default_transaction_read_only = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM period_closes")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE scratch (x int)")


@pytest.mark.parametrize("who", ["owner", "reader"])
def test_the_extraction_session_refuses_writes(reader_ledger, who):
    # Even the ledger's owner (a superuser here) cannot write through a session.
    owner_url, reader_url = reader_ledger
    url = owner_url if who == "owner" else reader_url
    with read_ledger(url) as session:
        conn = session._conn
        assert conn.execute("SHOW transaction_read_only").fetchone() == ("on",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("UPDATE period_closes SET closed_at = closed_at")
    with psycopg.connect(libpq(owner_url)) as check:
        assert check.execute("SELECT count(*) FROM period_closes").fetchone() == (1,)
