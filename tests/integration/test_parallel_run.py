"""`funding run --parallel` runs a period's steps in separate processes
(Dagster's multiprocess executor, vehicles side by side). It must publish
exactly the bytes the in-process run publishes: the same files with the same
SHA-256, the manifest aside, which differs only in its `created_at` (and so
`latest.json` in the manifest's digest)."""

from __future__ import annotations

import hashlib
import json

from dagster_project.runner import run_periods
from dagster_project.settings import Settings
from funding.demo import SeedConfig, seed_ledger
from funding.period import Period
from tests.support.dagster_helpers import TEST_TAPE_KEY, wh1_from_its_first_run

PERIOD = Period.parse("2025-01")


MANIFEST = "wh1/2025-01/v1/manifest.json"
LATEST = "wh1/2025-01/latest.json"


def _published(root) -> dict[str, str]:
    publish = root / "publish"
    return {
        str(path.relative_to(publish)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(publish.rglob("*"))
        if path.is_file()
    }


def _manifest_without_its_time(root) -> dict:
    manifest = json.loads((root / "publish" / MANIFEST).read_bytes())
    assert manifest.pop("created_at")
    return manifest


def test_the_parallel_run_publishes_the_bytes_of_the_in_process_run(tmp_path, monkeypatch):
    # wh1 alone, without first_period_end: it publishes from the first period run,
    # so one closed month is enough to compare a whole package.
    vehicles = wh1_from_its_first_run(tmp_path)
    ledger = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    seed_ledger(ledger, SeedConfig(accounts=150, months=1))

    published = {}
    for mode in ("in_process", "parallel"):
        root = tmp_path / mode
        (root / "var").mkdir(parents=True)
        (root / "var" / "tape_hmac_key").write_text(TEST_TAPE_KEY + "\n")
        # The step processes rebuild the definitions from the environment.
        env = {
            "FUNDING_VAR_DIR": str(root / "var"),
            "LEDGER_URL": ledger,
            "VEHICLES_DIR": str(vehicles),
            "LAKE_URI": str(root / "lake"),
            "PUBLISH_URI": str(root / "publish"),
            "CONTROL_URI": str(root / "control"),
            "DAGSTER_HOME": str(root / "dagster"),
            "FUNDING_DEMO": "1",
            "GIT_SHA": "0123456789abcdef0123456789abcdef01234567",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        (root / "dagster").mkdir()
        reports = run_periods(
            Settings.from_env(),
            [PERIOD],
            rerun=True,
            parallel=mode == "parallel",
            say=lambda _: None,
        )
        assert [r.success for r in reports] == [True], reports
        assert reports[0].packages == {"wh1": "published v1"}
        published[mode] = _published(root)

    in_process, parallel = published["in_process"], published["parallel"]
    assert sorted(parallel) == sorted(in_process)
    assert len(in_process) >= 10 and MANIFEST in in_process
    # Every published file, report and tape included, byte for byte.
    documents = set(in_process) - {MANIFEST, LATEST}
    assert {n: parallel[n] for n in documents} == {n: in_process[n] for n in documents}
    assert _manifest_without_its_time(tmp_path / "parallel") == _manifest_without_its_time(
        tmp_path / "in_process"
    )
