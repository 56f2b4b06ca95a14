"""Vehicle files load into typed models; a bad file fails on load with a
message naming the file, the key and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dagster_project.settings import PACKAGE_DIR
from funding.vehicle_config import VehicleConfigError, load_vehicle, load_vehicles

DEMO = PACKAGE_DIR / "vehicles"


def test_demo_vehicles_load():
    vehicles = load_vehicles(DEMO)
    assert set(vehicles) == {"wh1", "trust1"}
    assert vehicles["wh1"].kind == "warehouse" and vehicles["wh1"].facility is not None
    assert vehicles["trust1"].kind == "trust" and vehicles["trust1"].class_names == ("A", "B")


def broken(tmp_path: Path, edit) -> Path:
    raw = yaml.safe_load((DEMO / "trust1.yaml").read_text())
    edit(raw)
    path = tmp_path / "trust1.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _ratio(raw):
    return raw["ratios"][0]["definitions"]


CASES = {
    "typo in a measure name": (
        lambda raw: _ratio(raw)["payment_rate"].update(numerator=["principal_colections"]),
        ["ratios.0.definitions", "payment_rate", "principal_colections"],
    ),
    "denominator that is not a measure": (
        lambda raw: _ratio(raw)["payment_rate"].update(denominator="payment_rate"),
        ["ratios.0.definitions", "payment_rate", "denominator"],
    ),
    "unknown annualisation": (
        lambda raw: _ratio(raw)["portfolio_yield"].update(annualize="x13"),
        ["ratios.0.definitions", "portfolio_yield", "x13"],
    ),
    "unknown key": (
        lambda raw: raw.update(colour="blue"),
        ["colour", "Extra inputs are not permitted"],
    ),
    "waterfall step naming an unknown class": (
        lambda raw: raw["waterfall"]["interest"].insert(3, {"pay": "interest", "class": "C"}),
        ["unknown class 'C'"],
    ),
    "bad vehicle id": (lambda raw: raw.update(id="Trust 1"), ["id", "pattern"]),
    # Plausibility bounds on the inputs that drive money: file, key, value and bound.
    "fixed note rate of 99,999,999 bps": (
        lambda raw: raw["notes"][1]["rate"].update(fixed_bps=99_999_999),
        ["notes.1.rate.fixed_bps", "less than or equal to 5000", "got 99999999"],
    ),
    "margin above 50%": (
        lambda raw: raw["notes"][0]["rate"].update(margin_bps=5_001),
        ["notes.0.rate.margin_bps", "less than or equal to 5000", "got 5001"],
    ),
    "floor below -10%": (
        lambda raw: raw["notes"][0]["rate"].update(floor_bps=-1_001),
        ["notes.0.rate.floor_bps", "greater than or equal to -1000", "got -1001"],
    ),
    "fee rate above 100%": (
        lambda raw: raw["fees"][1].update(rate_bps=10_001),
        ["fees.1.rate_bps", "less than or equal to 10000", "got 10001"],
    ),
    "flat fee of more than $100 billion": (
        lambda raw: raw["fees"][0].update(flat_cents=10**13 + 1),
        ["fees.0.flat_cents", "less than or equal to 10000000000000", "got 10000000000001"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_config_names_file_key_and_problem(case, tmp_path):
    edit, expected = CASES[case]
    path = broken(tmp_path, edit)
    with pytest.raises(VehicleConfigError) as error:
        load_vehicle(path)
    message = str(error.value)
    assert str(path) in message
    for text in expected:
        assert text in message, (text, message)


def test_rates_at_the_bounds_load(tmp_path):
    def at_bounds(raw):
        raw["notes"][1]["rate"].update(fixed_bps=5_000)
        raw["notes"][0]["rate"].update(margin_bps=-1_000, floor_bps=5_000)
        raw["fees"][1].update(rate_bps=10_000)
        raw["fees"][0].update(flat_cents=10**13)

    config = load_vehicle(broken(tmp_path, at_bounds))
    assert config.notes[1].rate.fixed_bps == 5_000
    assert config.fees[0].flat_cents == 10**13


def test_id_must_match_file_name(tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text((DEMO / "trust1.yaml").read_text())
    with pytest.raises(VehicleConfigError, match="must equal the file name 'other'"):
        load_vehicle(path)
