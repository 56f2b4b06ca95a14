"""The tape key fails closed: outside the demo a run without TAPE_HMAC_KEY
stops before anything is published; the manifest carries the key's
fingerprint, never the key; a package made with another key than the last
published one is refused unless TAPE_KEY_ROTATION=1; and the key appears in
no published file, lake table, mail, run log, metadata or run config."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.settings import Settings
from funding.demo import SeedConfig, seed_ledger
from tests.support.dagster_helpers import (
    demo_vehicles,
    failure_text,
    materialized,
    run_period,
    settings_for,
)

KEY_A = "tape-key-A-7f3a9c0e5b1d4f2a8c6e0b3d5f7a9c1e"
KEY_B = "tape-key-B-0d2f4b6a8c0e1f3a5b7c9d1e3f5a7b9c"
# outputs.md: a fingerprint of TAPE_HMAC_KEY; computed here without the project's code.
LABEL = b"funding-platform/tape-key-fingerprint/v1"


def fingerprint(key: str) -> str:
    return hmac.new(key.encode(), LABEL, hashlib.sha256).hexdigest()[:16]


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    root = tmp_path_factory.mktemp("tapekey")
    url = f"sqlite:///{root / 'ledger.sqlite'}"
    seed_ledger(url, SeedConfig(accounts=200, months=3))
    return url


def production(tmp_path: Path, url: str) -> Settings:
    """A deployment outside the demo: the key comes from TAPE_HMAC_KEY only."""
    return settings_for(tmp_path, url, demo=False, tape_key_in_env=True)


@pytest.mark.parametrize("value", [None, ""])
def test_no_key_outside_the_demo_stops_the_run_before_anything_is_published(
    ledger, tmp_path, monkeypatch, value
):
    if value is None:
        monkeypatch.delenv("TAPE_HMAC_KEY", raising=False)
    else:
        monkeypatch.setenv("TAPE_HMAC_KEY", value)
    monkeypatch.delenv("FUNDING_DEMO", raising=False)
    var = tmp_path / "var"
    var.mkdir()
    (var / "tape_hmac_key").write_text("a-demo-key-left-in-var\n")  # as `funding seed` leaves it
    settings = Settings.from_env(
        {
            "LEDGER_URL": ledger,
            "FUNDING_VAR_DIR": str(var),
            **({} if value is None else {"TAPE_HMAC_KEY": value}),
        }
    )
    assert not settings.demo and not settings.tape_key_in_env
    instance = dg.DagsterInstance.ephemeral()
    assert run_period(settings, "2025-01", instance).success  # no vehicle reports January
    result = run_period(settings, "2025-02", instance)
    assert not result.success
    assert "TAPE_HMAC_KEY is not set" in failure_text(result)
    assert not any(k.endswith(("loan_tape", "investor_package")) for k in materialized(result))
    assert files_under(Path(settings.publish_uri)) == []
    assert sorted(p.name for p in var.iterdir() if p.name.startswith("tape")) == ["tape_hmac_key"]


def test_fingerprint_in_manifest_changed_key_refused_rotation_declared_and_no_leak(
    ledger, tmp_path, monkeypatch
):
    # One vehicle: every vehicle's tape goes through the same key.
    settings = replace(production(tmp_path, ledger), vehicles_dir=demo_vehicles(tmp_path, "wh1"))
    instance = dg.DagsterInstance.ephemeral()
    monkeypatch.setenv("TAPE_HMAC_KEY", KEY_A)
    results = [run_period(settings, key, instance) for key in ("2025-01", "2025-02")]
    assert all(r.success for r in results), failure_text(results[-1])
    publish = Path(settings.publish_uri)
    manifests = sorted(publish.rglob("manifest.json"))
    assert [m.parent.parent.parent.name for m in manifests] == ["wh1"]
    for m in manifests:
        assert json.loads(m.read_text())["tape_key_fingerprint"] == fingerprint(KEY_A)

    # Another key without a declared rotation: refused, nothing new published.
    before = sorted(p.relative_to(publish) for p in files_under(publish))
    monkeypatch.setenv("TAPE_HMAC_KEY", KEY_B)
    refused = run_period(settings, "2025-03", instance)
    assert not refused.success
    text = failure_text(refused)
    assert "TAPE_HMAC_KEY differs from the key of the last published package" in text
    assert f"tape_key_fingerprint {fingerprint(KEY_A)}, now {fingerprint(KEY_B)}" in text
    assert "TAPE_KEY_ROTATION=1" in text
    assert not any(k.endswith("investor_package") for k in materialized(refused))
    assert sorted(p.relative_to(publish) for p in files_under(publish)) == before

    # Declared: published, under the new fingerprint.
    rotated = run_period(replace(settings, tape_key_rotation=True), "2025-03", instance)
    assert rotated.success, failure_text(rotated)
    march = sorted(publish.glob("*/2025-03/v*/manifest.json"))
    assert len(march) == 1
    for m in march:
        assert json.loads(m.read_text())["tape_key_fingerprint"] == fingerprint(KEY_B)

    # The secret scan: no key in any file written, nor in the run records.
    root = Path(tmp_path)
    for path in files_under(root):
        data = path.read_bytes()
        for key in (KEY_A, KEY_B):
            assert key.encode() not in data, path
    for result in (*results, refused, rotated):
        records = instance.all_logs(result.run_id)
        text = "\n".join(str(r) for r in records)
        assert text  # the log was read
        run = instance.get_run_by_id(result.run_id)
        text += json.dumps(run.run_config, default=str) + str(run.tags)
        for key in (KEY_A, KEY_B):
            assert key not in text
