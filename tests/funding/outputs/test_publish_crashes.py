"""A publisher killed with SIGKILL at each stage of a publish: half way
through the package's files (locally: with a temporary file written and
not yet linked), and after the manifest but before `latest.json`.

The publisher is a real process; the test waits until it reaches the stage
(it touches a marker file there and waits), then kills it. Nothing is
visible that is not complete, and the next run yields exactly one complete
version, every file hashed with hashlib against the manifest, and no
temporary file left in the version folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from funding.outputs.publish import latest_version, verify_package, versions
from funding.storage.objects import LocalFolderStore
from tests.funding.outputs import test_publish as base
from tests.funding.outputs.test_publish import (
    BASE,
    PERIOD,
    ROOT,
    VEHICLE,
    env_for,
    location,
    publish,
    spec_keys,
    tape_of,
    write_package,
)

# The same fixtures as the publish tests: each target on S3 (moto) and locally.
s3_endpoint, s3_bucket, target, pool = base.s3_endpoint, base.s3_bucket, base.target, base.pool

# The publisher, stopped at a stage: it announces it (a marker file) and
# sleeps until killed. Test-only wrappers around the store, not product code.
KILLED_PUBLISHER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from funding.outputs.publish import publish_package
    from funding.period import Period
    from funding.storage.objects import LocalFolderStore, store_for

    where, folder, stage = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    spec = json.loads((folder / "spec.json").read_text())
    data = {name: (folder / name).read_bytes() for name in spec["data"]}

    def render(version, note):  # the same bytes as the tests' render()
        page = f"<html><body>v{version} {note or ''}</body></html>".encode()
        return {"investor_report.html": page, "investor_report.pdf": b"%PDF-1.7 " + page}

    def stop_here():
        (folder / "reached").touch()
        while True:
            time.sleep(1)

    target = store_for(where)
    files_done = []
    if stage == "half" and isinstance(target, LocalFolderStore):
        staged = target._staged

        def staged_then_stop(path, payload):  # the temporary file is on disk
            name = staged(path, payload)
            if not path.name.startswith("_"):
                files_done.append(path.name)
                if len(files_done) == 3:
                    stop_here()
            return name

        target._staged = staged_then_stop
    elif stage == "half":
        create = target.create

        def create_then_stop(key, payload):
            if not key.rsplit("/", 1)[-1].startswith("_"):
                files_done.append(key)
                if len(files_done) == 3:
                    stop_here()
            return create(key, payload)

        target.create = create_then_stop
    elif stage == "manifest":
        write = target.write

        def write_or_stop(key, payload):
            if key.endswith("/latest.json"):
                stop_here()  # the manifest exists, latest.json is not written
            return write(key, payload)

        target.write = write_or_stop
    publish_package(
        target, spec["vehicle"], Period.parse(spec["period"]), data, render, spec["fields"],
        None, spec["rows"],
    )
    """
)


def kill_at(stage: str, target, folder: Path, env: dict[str, str]) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_PUBLISHER, location(target), str(folder), stage],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (folder / "reached").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            _, err = process.communicate()
            pytest.fail(f"the publisher never reached {stage}: {err}")
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL


def temporary_files(target) -> list[str]:
    if not isinstance(target, LocalFolderStore):
        return []
    return sorted(
        str(p.relative_to(target.root)) for p in target.root.rglob("*") if p.name.startswith(".")
    )


def assert_one_complete_version(target) -> None:
    assert target.list("") == spec_keys(1)
    assert temporary_files(target) == []
    manifest_bytes = target.read(f"{BASE}/v1/manifest.json")
    manifest = json.loads(manifest_bytes)
    for name, entry in manifest["files"].items():
        stored = target.read(f"{BASE}/v1/{name}")
        assert hashlib.sha256(stored).hexdigest() == entry["sha256"], name
        assert len(stored) == entry["bytes"], name
    latest = json.loads(target.read(f"{BASE}/latest.json"))
    assert latest["version"] == 1
    assert latest["sha256"] == hashlib.sha256(manifest_bytes).hexdigest()
    assert verify_package(target, VEHICLE, PERIOD) == []


def test_sigkill_half_way_through_the_files(target, pool, tmp_path, request):
    tape = tape_of(pool)
    folder = write_package(tmp_path / "package", tape)
    kill_at("half", target, folder, env_for(target, request))

    # Nothing visible: no manifest, no latest.json, no version.
    partial = target.list("")
    assert f"{BASE}/v1/_claim.json" in partial
    assert not any(k.endswith(("manifest.json", "latest.json")) for k in partial)
    assert versions(target, VEHICLE, PERIOD) == []
    assert latest_version(target, VEHICLE, PERIOD) is None
    if isinstance(target, LocalFolderStore):  # the killed write's temporary file
        left = temporary_files(target)
        assert len(left) == 1 and left[0].startswith(f"{BASE}/v1/.tmp-"), left

    result = publish(target, tape)  # the re-run completes it
    assert (result.version, result.published) == (1, True)
    assert_one_complete_version(target)


def test_sigkill_after_the_manifest_before_latest_json(target, pool, tmp_path, request):
    tape = tape_of(pool)
    folder = write_package(tmp_path / "package", tape)
    kill_at("manifest", target, folder, env_for(target, request))

    # The manifest makes v1 visible, and it is complete; latest.json is absent
    # (it never points at anything incomplete).
    assert versions(target, VEHICLE, PERIOD) == [1]
    assert target.read(f"{BASE}/latest.json") is None
    manifest = json.loads(target.read(f"{BASE}/v1/manifest.json"))
    for name, entry in manifest["files"].items():
        assert hashlib.sha256(target.read(f"{BASE}/v1/{name}")).hexdigest() == entry["sha256"]

    result = publish(target, tape)  # the same data: nothing new, latest.json repaired
    assert (result.version, result.published) == (1, False)
    assert_one_complete_version(target)


def test_a_live_writers_temporary_file_is_left_alone(tmp_path):
    store = LocalFolderStore(tmp_path / "store")
    folder = tmp_path / "store" / "wh1" / "2025-03" / "v1"
    store.write("wh1/2025-03/v1/a.csv", b"a\n")
    # One of this process (alive: being written), one of a process that is gone.
    mine = store._staged(folder / "b.csv", b"b\n")
    dead = folder / f".tmp-{mine.name.split('.')[1][4:]}.999999999.abcdefgh"
    dead.write_bytes(b"half")
    assert store.sweep("wh1/2025-03/v1/") == [str(dead)]
    assert mine.exists() and not dead.exists()
    assert store.list("") == ["wh1/2025-03/v1/a.csv"]
