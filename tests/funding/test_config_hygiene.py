"""Config hygiene: a key given twice in a vehicle file is refused (file, key,
lines); so is a first_period_end that is not a month end; a storage setting
naming a file instead of a folder names the setting; and one bad vehicle file
says which file and that no vehicle was run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.resources import PublisherResource
from dagster_project.settings import PACKAGE_DIR, Settings
from funding.vehicle_config import VehicleConfigError, load_vehicle, load_vehicles

DEMO = PACKAGE_DIR / "vehicles"


def test_a_key_given_twice_is_refused_naming_file_key_and_lines(tmp_path):
    text = (DEMO / "trust1.yaml").read_text()
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines, start=1) if line.startswith("name:"))
    path = tmp_path / "trust1.yaml"
    path.write_text(text + "name: Another Trust\n")
    with pytest.raises(VehicleConfigError) as error:
        load_vehicle(path)
    message = str(error.value)
    assert str(path) in message
    assert f"duplicate key 'name' on line {len(lines) + 1} (first given on line {first})" in message


def test_a_nested_key_given_twice_in_a_flow_mapping_is_refused(tmp_path):
    text = (DEMO / "trust1.yaml").read_text()
    assert "{name: trustee_fee, flat_cents: 250000}" in text
    path = tmp_path / "trust1.yaml"
    path.write_text(
        text.replace(
            "{name: trustee_fee, flat_cents: 250000}",
            "{name: trustee_fee, flat_cents: 250000, flat_cents: 25000000}",
        )
    )
    with pytest.raises(VehicleConfigError, match="duplicate key 'flat_cents' on line"):
        load_vehicle(path)


def test_first_period_end_must_be_a_month_end(tmp_path):
    text = (DEMO / "trust1.yaml").read_text()
    assert "first_period_end: 2025-02-28" in text
    path = tmp_path / "trust1.yaml"
    path.write_text(text.replace("first_period_end: 2025-02-28", "first_period_end: 2025-02-27"))
    with pytest.raises(VehicleConfigError) as error:
        load_vehicle(path)
    assert f"{path}: first_period_end: Value error, must be a month end" in str(error.value)
    assert "2025-02-28" in str(error.value)


def test_one_bad_vehicle_file_names_it_and_says_no_vehicle_was_run(tmp_path):
    (tmp_path / "trust1.yaml").write_text((DEMO / "trust1.yaml").read_text())
    bad = tmp_path / "wh1.yaml"
    bad.write_text((DEMO / "wh1.yaml").read_text().replace("kind: warehouse", "kind: wharehouse"))
    with pytest.raises(VehicleConfigError) as error:
        load_vehicles(tmp_path)
    message = str(error.value)
    assert f"{bad}: kind:" in message
    assert "1 of 2 vehicle files" in message
    assert "no vehicle was run (the other vehicles, ['trust1'], were not run either)" in message
    assert "trust1.yaml:" not in message


@pytest.mark.parametrize("name", ["PUBLISH_URI", "LAKE_URI", "CONTROL_URI"])
def test_a_storage_setting_naming_a_file_names_the_setting(tmp_path, name):
    target = tmp_path / "not-a-folder"
    target.write_text("x")
    with pytest.raises(ValueError) as error:
        Settings.from_env({name: str(target), "FUNDING_VAR_DIR": str(tmp_path / "var")})
    assert str(error.value) == (
        f"{name}={str(target)!r} is a file, not a folder: point {name} at a folder"
    )
    inside = target / "publish"
    with pytest.raises(ValueError, match=f"{name}=.*is a file, not a folder"):
        Settings.from_env({name: str(inside), "FUNDING_VAR_DIR": str(tmp_path / "var")})


def test_a_publish_target_that_became_a_file_fails_the_step_naming_publish_uri(tmp_path):
    target = tmp_path / "publish"
    target.write_text("x")
    with pytest.raises(dg.Failure, match="PUBLISH_URI=.*is a file, not a folder"):
        _ = PublisherResource(uri=str(target)).target


def test_the_cli_prints_the_setting_error_without_a_traceback(tmp_path):
    target = tmp_path / "publish"
    target.write_text("x")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_URI")}
    env.update(PUBLISH_URI=str(target), FUNDING_VAR_DIR=str(tmp_path / "var"))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "funding"), "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert f"PUBLISH_URI={str(target)!r} is a file, not a folder" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
