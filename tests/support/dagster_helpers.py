"""Running the real code location against a ledger in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import yaml

from dagster_project.definitions import build_definitions
from dagster_project.jobs import MONTHLY_CLOSE
from dagster_project.settings import PACKAGE_DIR, Settings
from funding.period import Period

TEST_TAPE_KEY = "test-tape-key-0123456789abcdef"


def settings_for(
    tmp_path: Path, ledger_url: str, first_period: str = "2025-01", **overrides
) -> Settings:
    """Settings of a demo deployment in `tmp_path`, with its tape key in var/."""
    key_file = tmp_path / "var" / "tape_hmac_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(TEST_TAPE_KEY + "\n")
    values = dict(
        ledger_url=ledger_url,
        vehicles_dir=PACKAGE_DIR / "vehicles",
        rate_fixings_path=PACKAGE_DIR / "data" / "sofr30a_fixings.csv",
        lake_uri=str(tmp_path / "lake"),
        publish_uri=str(tmp_path / "publish"),
        control_uri=str(tmp_path / "control"),
        dagster_home=tmp_path / "dagster",
        first_period=Period.parse(first_period),
        tape_key_file=key_file,
        outbox_dir=tmp_path / "var" / "outbox",
        demo=True,
    )
    values.update(overrides)
    return Settings(**values)


def run_period(
    settings: Settings, key: str, instance: dg.DagsterInstance, assets: list[str] | None = None
):
    """The monthly job for one period; only `assets` (and their checks) when given."""
    job = build_definitions(settings).resolve_job_def(MONTHLY_CLOSE)
    return job.execute_in_process(
        partition_key=key,
        instance=instance,
        raise_on_error=False,
        asset_selection=None
        if assets is None
        else [dg.AssetKey.from_user_string(a) for a in assets],
    )


def check_results(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        f"{e.asset_key.to_user_string()}:{e.check_name}": e
        for e in result.get_asset_check_evaluations()
    }


def materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def failure_text(result) -> str:
    """Every step failure's message with its causes, as the run log shows them."""
    texts = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            while error is not None:
                texts.append(error.message)
                error = error.cause
    return "\n".join(texts)


def demo_vehicles(folder: Path, *vehicle_ids: str) -> Path:
    """A vehicles folder holding only the named demo vehicles, unchanged: for
    tests whose subject does not depend on the vehicle, one vehicle proves it
    at half the cost of a run."""
    vehicles = folder / "vehicles"
    vehicles.mkdir()
    for vehicle_id in vehicle_ids:
        name = f"{vehicle_id}.yaml"
        (vehicles / name).write_bytes((PACKAGE_DIR / "vehicles" / name).read_bytes())
    return vehicles


def wh1_from_its_first_run(folder: Path) -> Path:
    """A vehicles folder holding the demo's wh1 without `first_period_end`:
    it starts from its configured initial state at the first period it runs,
    so that period already publishes a package."""
    vehicles = folder / "vehicles"
    vehicles.mkdir()
    wh1 = yaml.safe_load((PACKAGE_DIR / "vehicles" / "wh1.yaml").read_text())
    del wh1["first_period_end"]
    (vehicles / "wh1.yaml").write_text(yaml.safe_dump(wh1, sort_keys=False))
    return vehicles
