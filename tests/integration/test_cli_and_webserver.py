"""The commands people run: `funding seed`, `funding run` through a real
Dagster instance and `funding verify`, as typed, with the settings in the
environment. They run in this process (the installed `funding` entry point
runs as its own process in test_wheel and test_run_killed; the webserver in
test_shared_instance)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from dagster_project.cli import main


def env_for(tmp_path: Path, **extra) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LEDGER_", "LAKE_", "PUBLISH_", "DAGSTER_", "TAPE_", "FUNDING_"))
    }
    env.update(
        LEDGER_URL=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        LAKE_URI=str(tmp_path / "lake"),
        PUBLISH_URI=str(tmp_path / "publish"),
        DAGSTER_HOME=str(tmp_path / "dagster"),
        FUNDING_VAR_DIR=str(tmp_path / "var"),
        FUNDING_DEMO="1",
        **extra,
    )
    return env


@dataclass
class Completed:
    returncode: int
    stdout: str
    stderr: str


def funding(args: list[str], env: dict[str, str]) -> Completed:
    """`funding ARGS` with exactly `env` as the environment; its exit status and output."""
    out, err = io.StringIO(), io.StringIO()
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(args)
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return Completed(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("cli")
    env = env_for(tmp_path)
    result = funding(["seed", "--accounts", "150", "--months", "3"], env)
    assert result.returncode == 0, result.stderr
    assert "150 accounts, 3 months" in result.stdout
    return tmp_path, env


def test_run_materializes_closed_periods_in_order_and_is_recorded_in_the_instance(seeded):
    tmp_path, env = seeded
    result = funding(["run", "--through", "2025-02"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.index("2025-01  ok in") < out.index("2025-02  ok in")
    # What happened to each vehicle's package, period by period.
    january = out[out.index("2025-01  ok") : out.index("2025-02  ok")]
    assert "wh1       no package: reports from 2025-02" in january  # January is its closing
    assert "ledger cutoff 2025-02-04" in january
    assert "wh1       published v1" in out[out.index("2025-02  ok") :]
    assert "periods run now: 2025-01, 2025-02 in" in out
    assert (tmp_path / "lake" / "receivables_snapshot" / "2025-02.parquet").exists()
    again = funding(["run", "--through", "2025-02"], env)
    assert again.returncode == 0
    assert "none (all closed periods were already done)" in again.stdout
    rerun = funding(["run", "--period", "2025-02", "--through", "2025-02", "--rerun"], env)
    assert "wh1       unchanged (v1 kept)" in rerun.stdout
    rest = funding(["run"], env)
    assert "2025-03  ok" in rest.stdout and "2025-01  ok" not in rest.stdout


def test_run_of_an_unclosed_period_is_refused(seeded):
    _, env = seeded
    result = funding(["run", "--period", "2026-09"], env)
    assert result.returncode == 2
    assert "period 2026-09 is not closed" in result.stdout


def test_run_fails_with_the_blocking_check_message(tmp_path):
    import sqlite3

    env = env_for(tmp_path)
    assert funding(["seed", "--accounts", "200", "--months", "2"], env).returncode == 0
    with sqlite3.connect(tmp_path / "ledger.sqlite") as conn:
        conn.execute(
            "UPDATE postings SET amount_cents = amount_cents + 1 WHERE entry_id = 7 AND line_no = 1"
        )
    result = funding(["run"], env)
    assert result.returncode == 1
    assert "2025-01  FAILED" in result.stdout
    assert "receivables_snapshot:entries_balance failed" in result.stdout
    assert "entry ids [7]" in result.stdout


def test_published_files_match_their_manifest_by_an_independent_sha256(seeded):
    """Hashes every published file with hashlib.sha256 itself, so a change of
    the project's hash function (or of what it hashes) cannot pass."""
    tmp_path, env = seeded
    funding(["run"], env)
    packages = sorted((tmp_path / "publish").glob("*/20??-??"))
    assert {p.parent.name for p in packages} == {"wh1", "trust1"}
    checked = 0
    for package in packages:
        latest = json.loads((package / "latest.json").read_text())
        for version_dir in sorted(package.glob("v*")):
            manifest_bytes = (version_dir / "manifest.json").read_bytes()
            manifest = json.loads(manifest_bytes)
            on_disk = {p.name for p in version_dir.iterdir() if p.is_file()}
            assert on_disk == set(manifest["files"]) | {"manifest.json"}, version_dir
            for name, entry in manifest["files"].items():
                data = (version_dir / name).read_bytes()
                assert hashlib.sha256(data).hexdigest() == entry["sha256"], (version_dir, name)
                assert len(data) == entry["bytes"], (version_dir, name)
                checked += 1
            if version_dir.name == f"v{latest['version']}":
                assert hashlib.sha256(manifest_bytes).hexdigest() == latest["sha256"]
    assert checked >= 2 * 5  # both vehicles' tape, figures and report at least


def test_verify_checks_a_published_package_against_its_manifest(seeded):
    tmp_path, env = seeded
    funding(["run"], env)
    package = tmp_path / "publish" / "wh1" / "2025-02"
    ok = funding(["verify", str(package)], env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "every file matches its manifest" in ok.stdout
    assert "SHA-256" in ok.stdout  # the algorithm is named
    tape = package / "v1" / "loan_tape.csv"
    original = tape.read_bytes()
    try:
        tape.write_bytes(original.replace(b"\n", b"\n", 1) + b"tampered\n")
        bad = funding(["verify", str(package / "v1")], env)
        assert bad.returncode == 1
        assert "loan_tape.csv" in bad.stdout
    finally:
        tape.write_bytes(original)
