"""`funding run` killed with SIGKILL during the extraction (a real process,
held at a deterministic point: its ledger query waits for a lock the test
holds on PostgreSQL). The next `funding run` completes every period: one
complete version per vehicle, its files matching the manifest (hashlib),
and no temporary file anywhere in the published folders. One vehicle (wh1):
what is killed is the extraction every vehicle shares."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from funding.demo import SeedConfig, seed_ledger
from funding.period import Period
from tests.integration.test_cli_and_webserver import env_for
from tests.support import PROJECT_ROOT
from tests.support.dagster_helpers import demo_vehicles

ROOT = PROJECT_ROOT
BIN = Path(sys.executable).parent  # the installed `funding` entry point


def test_a_run_killed_during_extraction_is_completed_by_the_next_run(postgres_url, tmp_path):
    # One closed month, February, the vehicles' first: one period to run.
    seed_ledger(postgres_url, SeedConfig(accounts=200, months=1, first_period=Period(2025, 2)))
    env = {
        **env_for(tmp_path),
        "LEDGER_URL": postgres_url,
        "TAPE_HMAC_KEY": "k" * 32,
        "FIRST_PERIOD": "2025-02",
        "VEHICLES_DIR": str(demo_vehicles(tmp_path, "wh1")),
    }
    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://")

    blocker = psycopg.connect(dsn)
    blocker.execute("LOCK TABLE postings IN ACCESS EXCLUSIVE MODE")
    process = subprocess.Popen(
        [str(BIN / "funding"), "run"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    waiting = 0
    with psycopg.connect(dsn, autocommit=True) as watcher:
        while not waiting and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            ).fetchone()[0]
    assert waiting, f"the run never reached the extraction: {process.poll()}"
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    blocker.close()
    publish = tmp_path / "publish"
    assert not list(publish.rglob("manifest.json"))  # nothing was published

    again = subprocess.run(
        [str(BIN / "funding"), "run"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stdout + again.stderr

    manifests = sorted(publish.rglob("manifest.json"))
    folders = sorted({m.parent.parent.relative_to(publish).as_posix() for m in manifests})
    assert folders == ["wh1/2025-02"]  # it reports from February
    for manifest_path in manifests:
        assert manifest_path.parent.name == "v1", manifest_path  # one version, never a second
        manifest_bytes = manifest_path.read_bytes()
        manifest = json.loads(manifest_bytes)
        for name, entry in manifest["files"].items():
            data = (manifest_path.parent / name).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
        latest = json.loads((manifest_path.parent.parent / "latest.json").read_bytes())
        assert latest["sha256"] == hashlib.sha256(manifest_bytes).hexdigest()
        on_disk = sorted(p.name for p in manifest_path.parent.iterdir())
        assert on_disk == sorted([*manifest["files"], "manifest.json"])  # no .tmp-*, no claim
    assert not [p for p in publish.rglob(".tmp-*")]
