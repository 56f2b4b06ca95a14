"""Projection scenarios: the `projections` block is validated with named
errors and plausible ranges; scenarios resolve to monthly assumptions (paths
hold their last value, multipliers scale, fixings stay flat unless given);
the base scenario is the trailing 3-month average of published measures."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from dagster_project.settings import PACKAGE_DIR
from funding.projections.scenarios import (
    DEFAULT_SCENARIOS,
    ProjectionConfigError,
    ProjectionsConfig,
    ScenarioConfig,
    base_rates,
    resolve_scenario,
)
from funding.vehicle_config import VehicleConfigError, load_vehicle

BASE = {
    "payment_rate": Fraction(1, 5),
    "purchase_rate": Fraction(1, 4),
    "portfolio_yield": Fraction(6, 25),
    "gross_chargeoff_rate": Fraction(3, 50),
    "recovery_rate": Fraction(1, 10),
    "delinquency_60_plus": Fraction(1, 50),
}
FLAT = {"SOFR30A": Decimal(430)}


def test_the_default_set_is_base_and_stress_at_one_and_a_half_losses_and_seven_tenths_payments():
    block = ProjectionsConfig()
    assert block.horizon_months == 24
    assert (
        [s.name for s in block.scenarios]
        == ["base", "stress"]
        == [s.name for s in DEFAULT_SCENARIOS]
    )
    stress = resolve_scenario(block.scenarios[1], 2, BASE, FLAT).months[0].rates
    assert stress["gross_chargeoff_rate"] == Fraction(3, 50) * Fraction(3, 2)  # 9%
    assert stress["payment_rate"] == Fraction(1, 5) * Fraction(7, 10)  # 14%
    assert stress["purchase_rate"] == BASE["purchase_rate"]


def test_paths_hold_their_last_value_and_constants_stay_constant():
    scenario = ScenarioConfig(
        name="ramp",
        payment_rate=0.15,
        gross_chargeoff_rate=[0.05, 0.06, 0.07],
        index_fixings={"SOFR30A": [450, 475]},
    )
    months = resolve_scenario(scenario, 5, BASE, FLAT).months
    assert [m.rates["gross_chargeoff_rate"] for m in months] == [
        Fraction(5, 100), Fraction(6, 100), Fraction(7, 100), Fraction(7, 100), Fraction(7, 100)
    ]  # fmt: skip
    assert {m.rates["payment_rate"] for m in months} == {Fraction(15, 100)}
    assert [m.fixings["SOFR30A"] for m in months] == [450, 475, 475, 475, 475]
    assert {m.rates["purchase_rate"] for m in months} == {BASE["purchase_rate"]}  # from base


def test_fixings_stay_flat_at_the_period_fixing_unless_given():
    months = resolve_scenario(ScenarioConfig(name="base"), 3, BASE, FLAT).months
    assert [m.fixings for m in months] == [FLAT] * 3
    with pytest.raises(ProjectionConfigError, match="EURIBOR.*no note of the vehicle uses"):
        resolve_scenario(ScenarioConfig(name="x", index_fixings={"EURIBOR": 300}), 3, BASE, FLAT)


def test_a_multiplied_rate_is_capped_at_its_plausible_range():
    scenario = ScenarioConfig(name="x", payment_rate=0.8, multipliers={"payment_rate": 2})
    assert resolve_scenario(scenario, 1, BASE, FLAT).months[0].rates["payment_rate"] == 1


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        (
            {"name": "x", "payment_rate": 1.2},
            "(?s)payment_rate.*1.2 is outside the plausible range 0 to 1",
        ),
        (
            {"name": "x", "purchase_rate": [0.3, 2]},
            "month 2: 2 is outside the plausible range 0 to 1.5",
        ),
        ({"name": "x", "gross_chargeoff_rate": -0.01}, "outside the plausible range"),
        ({"name": "x", "recovery_rate": []}, "at least one month"),
        ({"name": "x", "multipliers": {"losses": 1.5}}, "'losses' is not a scenario rate"),
        ({"name": "x", "multipliers": {"payment_rate": 0}}, "above 0 and at most 10"),
        ({"name": "x", "index_fixings": {"SOFR30A": [450, 3000]}}, "month 2: 3000 bps is outside"),
        ({"name": "X Y"}, "pattern"),
        ({"name": "x", "payment_rate": "fast"}, "not a decimal number"),
        ({"name": "x", "colour": "red"}, "Extra inputs are not permitted"),
        ({"name": "x", "measures": [{"principal_collections": 1}]}, "missing measures"),
        (
            {"name": "x", "measures": [{"principal_colections": 1}]},
            "unknown measures \\['principal_colections'\\]",
        ),
        (
            {
                "name": "x",
                "payment_rate": 0.1,
                "measures": [
                    dict.fromkeys(
                        [
                            "principal_collections",
                            "finance_charge_collections",
                            "recoveries",
                            "chargeoff_principal",
                            "ending_principal",
                        ],
                        1,
                    )
                ],
            },
            "measures replace rates; drop payment_rate",
        ),  # fmt: skip
    ],
)
def test_scenarios_are_validated_with_named_errors(scenario: dict, message: str):
    with pytest.raises(ValidationError, match=message):
        ScenarioConfig.model_validate(scenario)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"horizon_months": 0}, "greater than or equal to 1"),
        ({"horizon_months": 121}, "less than or equal to 120"),
        ({"scenarios": []}, "list at least one"),
        ({"scenarios": [{"name": "a"}, {"name": "a"}]}, "defined more than once: a"),
        (
            {"horizon_months": 2, "scenarios": [{"name": "a", "payment_rate": [0.1, 0.1, 0.1]}]},
            "a path of 3 months is longer than horizon_months \\(2\\)",
        ),
    ],
)
def test_the_block_is_validated_with_named_errors(block: dict, message: str):
    with pytest.raises(ValidationError, match=message):
        ProjectionsConfig.model_validate(block)


def test_a_vehicle_file_names_the_key_of_a_bad_scenario(tmp_path: Path):
    raw = yaml.safe_load((PACKAGE_DIR / "vehicles" / "trust1.yaml").read_text())
    raw["projections"] = {"scenarios": [{"name": "severe", "gross_chargeoff_rate": 1.5}]}
    path = tmp_path / "trust1.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(VehicleConfigError) as error:
        load_vehicle(path)
    text = str(error.value)
    assert str(path) in text and "projections.scenarios.0.gross_chargeoff_rate" in text
    assert "outside the plausible range 0 to 1" in text


def measures(begin: int, collected: int, bought: int, fcc: int, co: int, rec: int, end_total: int,
             sixty: int) -> dict[str, int]:  # fmt: skip
    return {
        "beginning_principal": begin,
        "principal_collections": collected,
        "purchases": bought,
        "finance_charge_collections": fcc,
        "chargeoff_principal": co,
        "recoveries": rec,
        "ending_total": end_total,
        "delinquent_60_89": sixty,
        "delinquent_90_119": 0,
        "delinquent_120_149": 0,
        "delinquent_150_179": 0,
    }


def test_base_is_the_mean_of_the_last_three_published_months():
    history = [
        measures(1, 1, 1, 1, 1, 1, 1, 1),  # a fourth month back: outside the window
        measures(1_000, 200, 300, 20, 5, 1, 2_000, 40),
        measures(2_000, 500, 400, 30, 10, 0, 4_000, 60),
        measures(4_000, 600, 1_000, 80, 0, 0, 5_000, 100),
    ]
    base = base_rates(history)
    # payment 200/1000, 500/2000, 600/4000 = 0.20, 0.25, 0.15 -> 0.20
    assert base["payment_rate"] == Fraction(1, 5)
    # purchases 0.30, 0.20, 0.25 -> 0.25
    assert base["purchase_rate"] == Fraction(1, 4)
    # yield x12: 0.24, 0.18, 0.24 -> 0.22
    assert base["portfolio_yield"] == Fraction(22, 100)
    # charge-offs x12: 0.06, 0.06, 0 -> 0.04
    assert base["gross_chargeoff_rate"] == Fraction(4, 100)
    # recoveries / charge-offs: 1/5, 0/10, (no charge-offs: no value) -> 0.10
    assert base["recovery_rate"] == Fraction(1, 10)
    # 60+: 40/2000, 60/4000, 100/5000 = 0.02, 0.015, 0.02 -> 0.055/3
    assert base["delinquency_60_plus"] == Fraction(55, 3000)


def test_the_parameters_hash_covers_every_assumption():
    base = resolve_scenario(ScenarioConfig(name="base"), 24, BASE, FLAT)
    again = resolve_scenario(ScenarioConfig(name="base"), 24, dict(BASE), dict(FLAT))
    assert base.parameters_sha256 == again.parameters_sha256
    assert len(base.parameters_sha256) == 64
    higher = resolve_scenario(
        ScenarioConfig(name="base", index_fixings={"SOFR30A": [430] * 23 + [431]}), 24, BASE, FLAT
    )
    assert higher.parameters_sha256 != base.parameters_sha256
    longer = resolve_scenario(ScenarioConfig(name="base"), 25, BASE, FLAT)
    assert longer.parameters_sha256 != base.parameters_sha256
