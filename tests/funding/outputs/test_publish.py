"""Versioned publishing (outputs.md, "Versions and restatements") against a real
S3-compatible endpoint on loopback (moto's server; boto3 over HTTP) and the
local folder target: exact keys, idempotent re-runs, restatements with a
loan-level diff, crashes between data files and manifest, concurrent
publishers, and verification of a published package."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from funding.outputs.publish import (
    PublishConflict,
    data_files_digest,
    latest_version,
    publish_package,
    read_manifest,
    verify_location,
    verify_package,
    versions,
)
from funding.outputs.tape import (
    account_ref,
    build_tape,
    tape_control_totals,
    tape_csv_bytes,
    tape_parquet_bytes,
)
from funding.period import Period
from funding.storage.objects import LocalFolderStore, S3Store
from tests.funding.outputs.test_tape import KEY, make_pool
from tests.support import PROJECT_ROOT
from tests.support.s3_server import S3Endpoint, running_s3

ROOT = PROJECT_ROOT
VEHICLE = "wh1"
PERIOD = Period(2025, 3)
BASE = "wh1/2025-03"
DATA_NAMES = ("loan_tape.csv", "loan_tape.parquet", "pool_performance.parquet")
DOC_NAMES = ("investor_report.html", "investor_report.pdf")
MANIFEST_KEYS = {
    "vehicle_id",
    "period_end",
    "version",
    "restates",
    "reason",
    "ledger_cutoff",
    "code_version",
    "config_sha256",
    "files",
    "control_totals",
    "checks",
    "created_at",
    "data_sha256",
    "diff",
}


def spec_keys(*version_numbers: int) -> list[str]:
    """Exactly the keys outputs.md lays out for these versions."""
    keys = [f"{BASE}/latest.json"]
    for n in version_numbers:
        keys += [f"{BASE}/v{n}/{name}" for name in (*DATA_NAMES, *DOC_NAMES, "manifest.json")]
    return sorted(keys)


def figures(tape: pl.DataFrame) -> bytes:
    frame = pl.DataFrame(
        {"row": ["principal"], "amount": [tape["principal_balance"].sum()]},
        schema={"row": pl.String, "amount": pl.Decimal(18, 2)},
    )
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def package(tape: pl.DataFrame) -> dict[str, bytes]:
    return {
        "loan_tape.parquet": tape_parquet_bytes(tape),
        "loan_tape.csv": tape_csv_bytes(tape),
        "pool_performance.parquet": figures(tape),
    }


def fields(tape: pl.DataFrame) -> dict:
    return {
        "ledger_cutoff": "2025-04-03T18:00:00",
        "code_version": "test-1",
        "config_sha256": "0" * 64,
        "control_totals": tape_control_totals(tape),
        "checks": {"reconciliation": True, "tape_totals": True},
    }


renders: list[tuple[int, str | None]] = []


def render(version: int, note: str | None) -> dict[str, bytes]:
    renders.append((version, note))
    page = f"<html><body>v{version} {note or ''}</body></html>".encode()
    return {"investor_report.html": page, "investor_report.pdf": b"%PDF-1.7 " + page}


def publish(target, tape: pl.DataFrame, reason: str | None = None, **kwargs):
    return publish_package(
        target,
        VEHICLE,
        PERIOD,
        package(tape),
        render,
        fields(tape),
        reason,
        {"loan_tape.parquet": tape.height, "loan_tape.csv": tape.height},
        **kwargs,
    )


def tape_of(pool: pl.DataFrame) -> pl.DataFrame:
    return build_tape(pool, VEHICLE, KEY)


@pytest.fixture(scope="module")
def s3_endpoint():
    with running_s3() as endpoint:
        yield endpoint


@pytest.fixture
def s3_bucket(s3_endpoint: S3Endpoint) -> str:
    return s3_endpoint.create_bucket()


@pytest.fixture
def pool() -> pl.DataFrame:
    return make_pool(40)


@pytest.fixture(params=["s3", "local"])
def target(request, tmp_path):
    if request.param == "local":
        return LocalFolderStore(tmp_path / "published")
    endpoint: S3Endpoint = request.getfixturevalue("s3_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    return S3Store(f"s3://{bucket}/packages", client=endpoint.client())


def snapshot_of(target) -> dict[str, bytes]:
    return {key: target.read(key) for key in target.list("")}


def test_first_publish_creates_exactly_the_spec_keys(target, pool):
    tape = tape_of(pool)
    result = publish(target, tape)
    assert (result.version, result.published, result.restates) == (1, True, None)
    assert target.list("") == spec_keys(1)

    manifest = json.loads(target.read(f"{BASE}/v1/manifest.json"))
    assert set(manifest) == MANIFEST_KEYS
    assert manifest["vehicle_id"] == VEHICLE and manifest["period_end"] == "2025-03-31"
    assert manifest["version"] == 1 and manifest["restates"] is None and manifest["diff"] is None
    assert manifest["control_totals"] == tape_control_totals(tape)
    assert manifest["checks"] == {"reconciliation": True, "tape_totals": True}
    assert manifest["data_sha256"] == data_files_digest(package(tape))
    assert datetime.fromisoformat(manifest["created_at"].replace("Z", "+00:00")).tzinfo is not None
    assert set(manifest["files"]) == {*DATA_NAMES, *DOC_NAMES}
    assert (
        manifest["files"]["loan_tape.parquet"]["rows"]
        == manifest["files"]["loan_tape.csv"]["rows"]
        == 40
    )
    assert manifest["files"]["pool_performance.parquet"]["rows"] == 1
    assert manifest["files"]["investor_report.pdf"]["rows"] is None
    for name, entry in manifest["files"].items():
        assert entry["bytes"] == len(target.read(f"{BASE}/v1/{name}"))
    raw = target.read(f"{BASE}/v1/manifest.json")
    assert raw == (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()

    latest = json.loads(target.read(f"{BASE}/latest.json"))
    assert latest["version"] == 1 and latest["manifest"] == "v1/manifest.json"
    assert latest["sha256"] == result.manifest_sha256
    assert target.read(f"{BASE}/v1/investor_report.html").startswith(b"<html><body>v1 ")
    assert verify_package(target, VEHICLE, PERIOD) == []
    assert result.keys["loan_tape.csv"] == f"{BASE}/v1/loan_tape.csv"


def test_rerun_with_the_same_outputs_publishes_nothing(target, pool):
    tape = tape_of(pool)
    publish(target, tape)
    before = snapshot_of(target)
    renders.clear()
    again = publish(target, tape_of(pool.reverse()))
    assert (again.version, again.published) == (1, False)
    assert snapshot_of(target) == before
    assert renders == []  # nothing rendered either


def test_changed_input_writes_a_restatement_with_a_loan_level_diff(target, pool):
    first = tape_of(pool)
    publish(target, first)
    v1 = snapshot_of(target)

    # One account removed (id 1), one added (id 999), one changed (id 2).
    added = make_pool(1, first_id=999, seed=5)
    changed = pool.filter(pl.col("account_id") != 1).with_columns(
        pl.when(pl.col("account_id") == 2)
        .then(pl.col("principal_cents") + 10_000)
        .otherwise(pl.col("principal_cents"))
        .alias("principal_cents")
    )
    changed = pl.concat([changed, added])
    second = tape_of(changed)
    renders.clear()
    result = publish(target, second)

    assert (result.version, result.published, result.restates) == (2, True, "v1")
    assert result.reason == (
        "outputs changed since v1: loan_tape.csv, loan_tape.parquet, pool_performance.parquet"
    )
    assert renders == [(2, f"Restates v1: {result.reason}")]
    assert target.list("") == spec_keys(1, 2)
    assert {k: v for k, v in snapshot_of(target).items() if "/v1/" in k} == {
        k: v for k, v in v1.items() if "/v1/" in k
    }
    latest = json.loads(target.read(f"{BASE}/latest.json"))
    assert latest["version"] == 2 and latest["manifest"] == "v2/manifest.json"

    diff = read_manifest(target, VEHICLE, PERIOD, 2)["diff"]
    assert diff["compared_with"] == "v1"
    assert (diff["accounts_added"], diff["accounts_removed"], diff["accounts_changed"]) == (1, 1, 1)
    assert diff["examples"] == {
        "added": [account_ref(VEHICLE, 999, KEY)],
        "removed": [account_ref(VEHICLE, 1, KEY)],
        "changed": [account_ref(VEHICLE, 2, KEY)],
    }
    assert diff["changed_columns"] == {"principal_balance": 1}
    assert (diff["accounts_before"], diff["accounts_after"]) == (40, 40)
    principal = diff["totals"]["principal_balance"]
    before_cents = int(pool["principal_cents"].sum())
    after_cents = int(changed["principal_cents"].sum())
    assert principal == {
        "before_cents": before_cents,
        "after_cents": after_cents,
        "change_cents": after_cents - before_cents,
    }
    assert set(diff["totals"]) == {n for n, t in first.schema.items() if isinstance(t, pl.Decimal)}
    assert verify_package(target, VEHICLE, PERIOD) == []
    assert verify_package(target, VEHICLE, PERIOD, version=1) == []

    # A re-run of the restated outputs publishes nothing; going back to v1's
    # outputs is a new restatement (v3), never a rewrite of v1 or v2.
    assert publish(target, second).published is False
    back = publish(target, first, reason="late postings reversed")
    assert (back.version, back.restates, back.reason) == (3, "v2", "late postings reversed")
    assert latest_version(target, VEHICLE, PERIOD) == 3
    assert versions(target, VEHICLE, PERIOD) == [1, 2, 3]
    assert target.list("") == spec_keys(1, 2, 3)


# A publisher in its own process, importing only funding.publish: the package
# (data files, manifest fields, row counts) comes from a folder the test wrote.
PUBLISHER_PROCESS = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from funding.outputs.publish import publish_package
    from funding.period import Period
    from funding.storage.objects import store_for

    where, folder, mode = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    spec = json.loads((folder / "spec.json").read_text())
    data = {name: (folder / name).read_bytes() for name in spec["data"]}

    def render(version, note):  # the same bytes as the tests' render()
        page = f"<html><body>v{version} {note or ''}</body></html>".encode()
        return {"investor_report.html": page, "investor_report.pdf": b"%PDF-1.7 " + page}

    target = store_for(where)
    if mode == "crash":
        create = target.create

        def create_or_die(key, payload):
            if key.endswith("/manifest.json"):
                os._exit(17)  # killed between the data files and the manifest
            return create(key, payload)

        target.create = create_or_die
    else:  # start together: announce readiness, wait for the go file
        (folder / f"ready-{os.getpid()}").touch()
        while not (folder / "go").exists():
            time.sleep(0.005)
    result = publish_package(
        target, spec["vehicle"], Period.parse(spec["period"]), data, render, spec["fields"],
        None, spec["rows"],
    )
    print(json.dumps({"version": result.version, "published": result.published}))
    """
)


def write_package(folder: Path, tape: pl.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = package(tape)
    for name, payload in data.items():
        (folder / name).write_bytes(payload)
    spec = {
        "vehicle": VEHICLE,
        "period": PERIOD.key,
        "data": sorted(data),
        "fields": fields(tape),
        "rows": {"loan_tape.parquet": tape.height, "loan_tape.csv": tape.height},
    }
    (folder / "spec.json").write_text(json.dumps(spec))
    return folder


def start_publisher(target, folder: Path, mode: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", PUBLISHER_PROCESS, location(target), str(folder), mode],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def crash_in_subprocess(target, pool: pl.DataFrame, tmp_path: Path, env: dict[str, str]) -> None:
    folder = write_package(tmp_path / "package", tape_of(pool))
    process = start_publisher(target, folder, "crash", env)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 17, err


def location(target) -> str:
    if isinstance(target, S3Store):
        return f"s3://{target.bucket}/{target.prefix}"
    return str(target.root)


def env_for(target, request) -> dict[str, str]:
    if isinstance(target, S3Store):
        return request.getfixturevalue("s3_endpoint").env()
    return {}


def test_a_publisher_killed_before_the_manifest_leaves_no_visible_version(
    target, pool, tmp_path, request
):
    crash_in_subprocess(target, pool, tmp_path, env_for(target, request))
    partial = target.list("")
    assert f"{BASE}/v1/loan_tape.parquet" in partial and f"{BASE}/v1/_claim.json" in partial
    assert not any(k.endswith("manifest.json") or k.endswith("latest.json") for k in partial)
    assert versions(target, VEHICLE, PERIOD) == []
    assert latest_version(target, VEHICLE, PERIOD) is None
    assert verify_package(target, VEHICLE, PERIOD) == ["wh1 2025-03: no published version"]

    result = publish(target, tape_of(pool))
    assert (result.version, result.published) == (1, True)
    assert target.list("") == spec_keys(1)
    assert verify_package(target, VEHICLE, PERIOD) == []


def test_a_crash_before_latest_json_is_repaired_by_the_next_run(target, pool, monkeypatch):
    tape = tape_of(pool)
    real_write = type(target).write

    def failing_write(self, key, data):
        if key.endswith("latest.json"):
            raise ConnectionError("lost the connection")
        return real_write(self, key, data)

    monkeypatch.setattr(type(target), "write", failing_write)
    with pytest.raises(ConnectionError):
        publish(target, tape)
    monkeypatch.undo()
    assert versions(target, VEHICLE, PERIOD) == [1]  # visible: its manifest exists
    assert target.read(f"{BASE}/latest.json") is None

    again = publish(target, tape)
    assert (again.version, again.published) == (1, False)
    assert target.list("") == spec_keys(1)
    assert verify_package(target, VEHICLE, PERIOD) == []


def test_a_partial_version_with_other_data_conflicts_until_stale_then_is_replaced(
    target, pool, monkeypatch
):
    real_create = type(target).create

    def crash_on_manifest(self, key, data):
        if key.endswith("manifest.json"):
            raise KeyboardInterrupt  # the process dies here
        return real_create(self, key, data)

    other = package(tape_of(pool.head(10)))
    monkeypatch.setattr(type(target), "create", crash_on_manifest)
    with pytest.raises(KeyboardInterrupt):
        publish_package(
            target,
            VEHICLE,
            PERIOD,
            {**other, "borrowing_base.parquet": other["pool_performance.parquet"]},
            render,
            fields(tape_of(pool.head(10))),
            None,
            None,
        )
    monkeypatch.undo()
    assert f"{BASE}/v1/borrowing_base.parquet" in target.list("")

    tape = tape_of(pool)
    with pytest.raises(PublishConflict) as caught:
        publish(target, tape)
    message = str(caught.value)
    assert "wh1" in message and "2025-03" in message and "v1" in message
    assert (caught.value.vehicle_id, caught.value.period_key, caught.value.version) == (
        "wh1",
        "2025-03",
        1,
    )

    later = datetime.now(UTC) + timedelta(seconds=901)
    result = publish(target, tape, clock=lambda: later)
    assert (result.version, result.published) == (1, True)
    assert target.list("") == spec_keys(1)  # the partial version's extra file is gone
    assert verify_package(target, VEHICLE, PERIOD) == []
    assert read_manifest(target, VEHICLE, PERIOD, 1)["data_sha256"] == data_files_digest(
        package(tape)
    )


def run_together(count: int, job) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = job(i)
        except Exception as exc:  # collected and asserted on below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_concurrent_publishes_of_the_same_version_produce_one_version(target, pool):
    tape = tape_of(pool)
    results = run_together(4, lambda _: publish(target, tape))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert {r.version for r in results} == {1}
    assert sum(r.published for r in results) == 1
    assert versions(target, VEHICLE, PERIOD) == [1]
    assert target.list("") == spec_keys(1)
    assert verify_package(target, VEHICLE, PERIOD) == []


def test_concurrent_publishing_processes_produce_one_version(target, pool, tmp_path, request):
    folder = write_package(tmp_path / "package", tape_of(pool))
    processes = [
        start_publisher(target, folder, "together", env_for(target, request)) for _ in range(3)
    ]
    deadline = time.monotonic() + 120
    while len(list(folder.glob("ready-*"))) < 3 and time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            break
        time.sleep(0.01)
    (folder / "go").touch()
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], [err for _, err in outputs]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert {r["version"] for r in results} == {1}
    assert sum(r["published"] for r in results) == 1
    assert target.list("") == spec_keys(1)
    assert verify_package(target, VEHICLE, PERIOD) == []
    # The processes published what this process would have: a re-run is a no-op.
    assert publish(target, tape_of(pool)).published is False


def test_concurrent_publishes_of_different_data_never_share_a_version(target, pool):
    tapes = [tape_of(pool), tape_of(pool.head(30))]
    results = run_together(2, lambda i: publish(target, tapes[i]))
    outcomes = sorted(
        ("conflict" if isinstance(r, PublishConflict) else f"v{r.version}") for r in results
    )
    assert all(isinstance(r, PublishConflict) or not isinstance(r, Exception) for r in results), (
        results
    )
    assert outcomes in (["conflict", "v1"], ["v1", "v2"])
    published = versions(target, VEHICLE, PERIOD)
    assert published == ([1] if "conflict" in outcomes else [1, 2])
    assert target.list("") == spec_keys(*published)
    for version in published:
        assert verify_package(target, VEHICLE, PERIOD, version) == []


def test_verify_package_catches_tampering(target, pool):
    publish(target, tape_of(pool))
    assert verify_package(target, VEHICLE, PERIOD) == []
    csv_key = f"{BASE}/v1/loan_tape.csv"
    original = target.read(csv_key)
    lines = original.split(b"\n")
    target.write(csv_key, b"\n".join([*lines[:2], *lines[3:]]))  # one row dropped
    problems = verify_package(target, VEHICLE, PERIOD)
    assert any("loan_tape.csv sha256" in p for p in problems)
    assert any("loan_tape.csv has" in p and "bytes" in p for p in problems)
    assert any("loan_tape.csv has 39 rows, manifest says 40" in p for p in problems)

    target.write(csv_key, original)
    target.delete(f"{BASE}/v1/investor_report.pdf")
    target.write(f"{BASE}/v1/extra.txt", b"?")
    problems = verify_package(target, VEHICLE, PERIOD)
    assert problems == [
        "wh1 2025-03 v1: investor_report.pdf is missing",
        "wh1 2025-03 v1: extra.txt is not in the manifest",
    ]
    where = (
        f"s3://{target.bucket}/{target.prefix}/wh1/2025-03/v1"
        if isinstance(target, S3Store)
        else str(target.root / "wh1" / "2025-03" / "v1")
    )
    if isinstance(target, S3Store):
        assert verify_location(where, client=target.client) == problems
    else:
        assert verify_location(where) == problems
        assert verify_location(str(target.root / "wh1" / "2025-03")) == problems


def test_publish_refuses_bad_inputs(target, pool):
    tape = tape_of(pool)
    with pytest.raises(ValueError, match="manifest_fields"):
        publish_package(
            target, VEHICLE, PERIOD, package(tape), render, {"code_version": "x"}, None, None
        )
    with pytest.raises(ValueError, match="file_rows says 41 rows"):
        publish_package(
            target,
            VEHICLE,
            PERIOD,
            package(tape),
            render,
            fields(tape),
            None,
            {"loan_tape.csv": 41},
        )
    with pytest.raises(ValueError, match="not allowed"):
        publish_package(
            target, VEHICLE, PERIOD, {"manifest.json": b"{}"}, render, fields(tape), None, None
        )
    bad_fields = {**fields(tape), "control_totals": {"principal": 1.5}}
    with pytest.raises(ValueError, match="control totals"):
        publish_package(target, VEHICLE, PERIOD, package(tape), render, bad_fields, None, None)
    assert target.list("") == []


def test_a_package_with_projections_lists_them_in_its_manifest(tmp_path, pool):
    target = LocalFolderStore(tmp_path / "published")
    tape = tape_of(pool)
    scenarios = {
        "start_period": "2025-03",
        "horizon_months": 24,
        "scenarios": [{"name": "base", "parameters_sha256": "a" * 64}],
    }
    result = publish_package(
        target, VEHICLE, PERIOD, package(tape), render, {**fields(tape), "projections": scenarios}
    )
    assert result.manifest["projections"] == scenarios
    assert set(result.manifest) == MANIFEST_KEYS | {"projections"}
    # without projections the manifest has exactly the keys outputs.md lists
    other = LocalFolderStore(tmp_path / "other")
    assert (
        set(publish_package(other, VEHICLE, PERIOD, package(tape), render, fields(tape)).manifest)
        == MANIFEST_KEYS
    )
    with pytest.raises(
        ValueError,
        match="optionally \\['projections', 'tape_key_fingerprint'\\].*extra \\['colour'\\]",
    ):
        publish_package(
            other, VEHICLE, PERIOD, package(tape), render, {**fields(tape), "colour": "red"}
        )
