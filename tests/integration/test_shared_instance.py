"""The team's shared Dagster instance as deployed: the documented
`deploy/dagster.yaml` (runs, event logs and schedules in a real PostgreSQL,
the queued run coordinator), the webserver and the daemon as real processes,
a finance backfill of two periods launched through the webserver's GraphQL
API exactly as the UI's launch dialog does, and the asset graph as a person
sees it in a browser.

The vehicle here is wh1 without `first_period_end`: it starts from its
configured initial state at the first period it runs, so both periods of the
backfill publish a package."""

from __future__ import annotations

import json
import shutil
import time
import uuid

import pytest
import sqlalchemy as sa
from PIL import Image

from funding.demo import SeedConfig, seed_ledger
from tests.support.dagster_helpers import TEST_TAPE_KEY, wh1_from_its_first_run
from tests.support.dagster_services import (
    LOCATION,
    ROOT,
    running_daemon,
    running_webserver,
    screenshot,
)

PERIODS = ["2025-01", "2025-02"]

LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on PartitionSetNotFoundError { message }
    ... on UnauthorizedError { message }
  }
}"""

BACKFILL_RUNS = """
query Runs($id: String!) {
  runsOrError(filter: {tags: [{key: "dagster/backfill", value: $id}]}) {
    ... on Runs { results { runId status startTime endTime tags { key value } } }
  }
}"""


@pytest.fixture
def shared_instance(tmp_path, postgres_server):
    """A deployment folder: the documented dagster.yaml on a fresh PostgreSQL
    database, a small demo ledger and a wh1 without `first_period_end`."""
    database = f"dagster_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(f"{postgres_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {database}")
    admin.dispose()

    home = tmp_path / "dagster"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    vehicles = wh1_from_its_first_run(tmp_path)
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "tape_hmac_key").write_text(TEST_TAPE_KEY + "\n")
    seed_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}", SeedConfig(accounts=150, months=2))

    pg_driver_url = postgres_server.replace("postgresql+psycopg://", "postgresql+psycopg2://")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_URL": f"{pg_driver_url}/{database}",
        "LEDGER_URL": f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        "VEHICLES_DIR": str(vehicles),
        "LAKE_URI": str(tmp_path / "lake"),
        "PUBLISH_URI": str(tmp_path / "publish"),
        "CONTROL_URI": str(tmp_path / "control"),
        "FUNDING_VAR_DIR": str(tmp_path / "var"),
        "FUNDING_DEMO": "1",
    }
    return tmp_path, env


def test_a_backfill_launched_through_the_webserver_runs_on_the_shared_instance(shared_instance):
    root, env = shared_instance
    with running_webserver(env, root) as web, running_daemon(env, root):
        nodes = web.graphql("{ assetNodes { assetKey { path } } }")["assetNodes"]
        keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
        assert {"receivables_snapshot", "wh1/waterfall", "wh1/investor_package"} <= keys

        launched = web.graphql(
            LAUNCH_BACKFILL,
            {
                "params": {
                    "selector": {
                        "partitionSetName": "monthly_close_partition_set",
                        "repositorySelector": {
                            "repositoryLocationName": LOCATION,
                            "repositoryName": "__repository__",
                        },
                    },
                    "partitionNames": PERIODS,
                    "fromFailure": False,
                }
            },
        )["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        backfill = launched["backfillId"]

        # While the daemon works: the asset graph as a person opens it. The
        # first-visit newsletter dialog is dismissed the way its Skip button does.
        web.graphql("mutation { setNuxSeen }")
        picture = root / "asset_graph.png"
        dom = screenshot(f"{web.url}/asset-groups", picture, expect=("wh1", "extraction"))
        assert "wh1" in dom and "extraction" in dom and "Join the Dagster community" not in dom
        with Image.open(picture) as image:
            colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
        assert image.size == (1600, 1000)
        assert colours is None or len(colours) > 50  # a drawn page, not a blank one

        runs = _wait_for_runs(web, backfill, len(PERIODS), timeout=420)

    by_period = {_tag(r, "dagster/partition"): r for r in runs}
    assert sorted(by_period) == PERIODS
    assert {r["status"] for r in runs} == {"SUCCESS"}, _failures(env, runs)
    # One backfill's runs one after the other, oldest period first (deploy/dagster.yaml).
    first, second = (by_period[p] for p in PERIODS)
    assert first["endTime"] <= second["startTime"]

    for period in PERIODS:
        latest = json.loads((root / "publish" / "wh1" / period / "latest.json").read_text())
        assert latest["version"] == 1
        assert (root / "publish" / "wh1" / period / "v1" / "manifest.json").exists()
    # The runs and their events are in PostgreSQL, not in files under DAGSTER_HOME.
    engine = sa.create_engine(env["DAGSTER_PG_URL"])
    with engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT count(*) FROM runs WHERE run_id IN ({})".format(
                ", ".join(f"'{r['runId']}'" for r in runs)
            )
        ).scalar_one()
    engine.dispose()
    assert stored == len(PERIODS)
    assert not list((root / "dagster").glob("**/*.db"))


def _failures(env: dict, runs: list[dict]) -> str:
    """The failed runs' error messages, read from the event log in PostgreSQL."""
    engine = sa.create_engine(env["DAGSTER_PG_URL"])
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT run_id, event FROM event_logs "
            "WHERE dagster_event_type IN ('STEP_FAILURE', 'RUN_FAILURE', 'ENGINE_EVENT')"
        ).all()
    engine.dispose()
    messages = []
    for run_id, event in rows:
        entry = json.loads(event)
        error = (entry.get("dagster_event") or {}).get("event_specific_data") or {}
        error = error.get("error") or {}
        if error:
            cause = (error.get("cause") or {}).get("message")
            messages.append(f"{run_id}: {entry.get('user_message')}: {error['message']} {cause}")
    return "\n".join(messages)


def _tag(run: dict, key: str) -> str | None:
    return next((t["value"] for t in run["tags"] if t["key"] == key), None)


def _wait_for_runs(web, backfill: str, count: int, timeout: float) -> list[dict]:
    deadline = time.time() + timeout
    runs: list[dict] = []
    while time.time() < deadline:
        runs = web.graphql(BACKFILL_RUNS, {"id": backfill})["runsOrError"]["results"]
        done = [r for r in runs if r["status"] in ("SUCCESS", "FAILURE", "CANCELED")]
        if len(done) == count:
            return runs
        time.sleep(2)
    pytest.fail(f"backfill {backfill}: runs not finished in {timeout:.0f} s: {runs}")
