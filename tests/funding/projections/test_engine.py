"""The projection engine: a hand-computed 3-month projection of a one-class
warehouse, and a stress scenario that crosses its triggers.

Amounts are cents. The warehouse (builders.warehouse) starts in March 2025
with a pool of 1,000,000.00 principal (total receivables 5% more), 90% of it
net eligible, 765,000.00 drawn; ADV pays SOFR30A + 200 bps, ACT/360.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from funding.projections.engine import ProjectionError, project
from funding.projections.scenarios import ScenarioConfig, resolve_scenario
from funding.projections.table import projection_rows
from tests.funding.projections.builders import warehouse, warehouse_start

RATES = {
    "payment_rate": 0.20,
    "purchase_rate": 0.25,
    "portfolio_yield": 0.24,
    "gross_chargeoff_rate": 0.06,
    "recovery_rate": 0.10,
    "delinquency_60_plus": 0.02,
}
FLAT = {"SOFR30A": Decimal(430)}


def scenario(horizon: int, **rates):
    config = ScenarioConfig.model_validate({"name": "hand", **RATES, **rates})
    return resolve_scenario(config, horizon, {"net_eligible_share": Fraction(9, 10)}, FLAT)


def test_three_months_of_a_one_class_warehouse_by_hand():
    config = warehouse()
    fixings = {"index_fixings": {"SOFR30A": [400, 450, 500]}}
    months = project(config, warehouse_start(config), scenario(3, **fixings)).months
    april, may, june = months

    # April (30 days), pool 100,000,000 at the start:
    #   charge-offs 6%/12 = 500,000; collections 20% = 20,000,000; purchases 25% = 25,000,000
    #   recoveries 10% of charge-offs = 50,000; finance charges 24%/12 = 2,000,000
    #   ending 100,000,000 + 25,000,000 - 20,000,000 - 500,000 = 104,500,000
    assert [april.measures[m] for m in (
        "chargeoff_principal", "principal_collections", "purchases", "recoveries",
        "finance_charge_collections", "ending_principal", "ending_total",
    )] == [500_000, 20_000_000, 25_000_000, 50_000, 2_000_000, 104_500_000, 109_725_000]  # fmt: skip
    # net eligible 90% = 94,050,000; base floor(85% x 94,050,000) = 79,942,500
    assert april.borrowing_base_cents == 79_942_500
    # availability 79,942,500 - 765,000.00 drawn = 3,442,500, drawn after the waterfall
    assert april.availability_cents == 3_442_500 and april.deficiency_cents == 0
    # interest 76,500,000 x (4.00% + 2.00%) x 30/360 = 382,500
    interest = {r.action: r for r in april.result.statement if r.waterfall == "interest"}
    assert interest["interest"].paid_cents == 382_500
    # released: 2,000,000 + 50,000 - 100,000 fee - 382,500 = 1,567,500
    assert interest["release"].paid_cents == 1_567_500
    assert april.result.state.note_balances == {"ADV": 79_942_500}

    # May (31 days), pool 104,500,000: ending 104,500,000 + 26,125,000 - 20,900,000 - 522,500
    assert may.measures["ending_principal"] == 109_202_500
    # net eligible 98,282,250; base floor(83,539,912.5) = 83,539,912; available 3,597,412
    assert may.borrowing_base_cents == 83_539_912
    assert may.availability_cents == 3_597_412
    # interest 79,942,500 x 6.50% x 31/360 = 447,455.94 -> 447,456
    assert _paid(may, "interest") == 447_456
    assert may.result.state.note_balances == {"ADV": 83_539_912}

    # June (30 days), pool 109,202,500: charge-offs 546,012.50 -> 546,013 (half up);
    # recoveries 54,601.30 -> 54,601; ending 109,202,500 + 27,300,625 - 21,840,500 - 546,013
    assert (june.measures["chargeoff_principal"], june.measures["recoveries"]) == (546_013, 54_601)
    assert june.measures["ending_principal"] == 114_116_612
    # net eligible 102,704,950.80 -> 102,704,951; base floor(87,299,208.35) = 87,299,208
    assert june.borrowing_base_cents == 87_299_208
    assert june.availability_cents == 87_299_208 - 83_539_912 == 3_759_296
    # interest 83,539,912 x 7.00% x 30/360 = 487,316.15 -> 487,316
    assert _paid(june, "interest") == 487_316
    assert _paid(june, "release", "interest") == 2_184_050 + 54_601 - 100_000 - 487_316

    # 60+ at 2% of total receivables: April 2,194,500 / 109,725,000 is 2% exactly, so
    # the 3-month average (2% published in February and March) is 2%: headroom 6%
    dq = [{t.name: t for t in m.result.trigger_tests}["delinquency_60_3m"] for m in months]
    assert dq[0].value == Fraction(2, 100) and dq[0].headroom == Fraction(6, 100)
    # May: 2% of 114,662,625 is 2,293,252.50 -> 2,293,253 cents, a share a little above 2%
    assert may.measures["delinquent_60_89"] == 2_293_253
    # = 0.0200000043606...; the average (0.02 + 0.02 + 0.0200000043606) / 3 = 0.0200000014535
    # (ratios keep 34 digits; the test records 12 places)
    assert dq[1].to_dict()["value"] == "0.020000001454"
    assert all(m.result.waterfall_status == "revolving" for m in months)


def _paid(month, action: str, waterfall: str = "interest") -> int:
    return sum(
        r.paid_cents
        for r in month.result.statement
        if r.action == action and r.waterfall == waterfall
    )


def test_a_ratio_the_projection_cannot_derive_is_null_not_zero():
    config = warehouse()
    month = project(config, warehouse_start(config), scenario(1)).months[0]
    assert "fee_share" not in month.ratios  # needs fee collections apart from interest
    # payment rate with the vehicle's own definition: (20,000,000 + 2,000,000) / 105,000,000
    # = 22/105, to the 34 digits compute_ratios keeps
    assert month.ratios["payment_rate"] == Decimal("0.2095238095238095238095238095238095")


def stress_path():
    """Month 1 as the base; month 2 a loss spike with almost no payments and no
    purchases; then the base again. 60+ share above 5% in months 2 and 3 only."""
    return {
        "payment_rate": [0.20, 0.02, 0.20],
        "purchase_rate": [0.25, 0, 0.25],
        "gross_chargeoff_rate": [0.06, 0.60, 0.06],
        "delinquency_60_plus": [0.02, 0.06, 0.07, 0.03],
    }


def test_a_stress_that_crosses_the_deficiency_trigger_amortizes_from_the_next_month_for_good():
    config = warehouse()
    months = project(config, warehouse_start(config), scenario(6, **stress_path())).months
    deficiency = [{t.name: t for t in m.result.trigger_tests}["bb_deficiency"] for m in months]
    # May: pool 104,500,000 loses 2% to payments and 5% to charge-offs, buys nothing:
    # ending 104,500,000 - 2,090,000 - 5,225,000 = 97,185,000; base floor(0.765 x 97,185,000)
    # = 74,346,525 against 79,942,500 drawn: 5,595,975 short, 2,090,000 cured, 3,505,975 left
    assert months[1].borrowing_base_cents == 74_346_525
    assert [t.value for t in deficiency[:2]] == [0, 3_505_975]
    breach = next(n for n, t in enumerate(deficiency, start=1) if t.breached)
    assert breach == 2  # the first month the value passes the threshold
    status = [m.result.waterfall_status for m in months]
    assert status == ["revolving", "revolving", *["early_amortization"] * 4]
    # nothing is drawn from the breach on, though the base recovers
    assert [m.availability_cents for m in months[2:]] == [0, 0, 0, 0]
    assert all(
        r.paid_cents == 0 for m in months[1:] for r in m.result.statement if r.action == "draw"
    )
    rows = {r[2]: (r[1], r[3]) for r in projection_rows(config, project(
        config, warehouse_start(config), scenario(6, **stress_path())))}  # fmt: skip
    assert rows["summary.trigger.bb_deficiency.first_breach"] == ("2025-05", 2)
    assert rows["summary.amortization.start"] == ("2025-06", 3)


def test_a_cash_trap_holds_only_while_its_trigger_is_breached():
    trap = {
        "name": "delinquency_60",
        "ratio": "delinquency_60_plus",
        "op": ">",
        "threshold": 0.05,
        "effect": "cash_trap",
    }
    config = warehouse(triggers=[trap])
    months = project(config, warehouse_start(config), scenario(5, **stress_path())).months
    assert [m.result.state.cash_trap for m in months] == [False, True, True, False, False]
    releases = [
        next(r.action for r in m.result.statement if r.waterfall == "interest" and r.step == 3)
        for m in months
    ]
    assert releases == ["release", "release_to_reserve", "release_to_reserve", "release", "release"]
    # trapped cash goes to the reserve only in the trapped months
    reserve = [m.result.state.reserve_cents for m in months]
    assert reserve[0] == 0 < reserve[1] < reserve[2] == reserve[3] == reserve[4]


def test_a_projection_that_outgrows_the_table_says_so():
    config = warehouse()
    runaway = scenario(120, payment_rate=0, gross_chargeoff_rate=0, purchase_rate=1.5)
    with pytest.raises(ProjectionError, match="does not fit.*purchase and payment rates"):
        projection_rows(config, project(config, warehouse_start(config), runaway))


def test_with_cure_periods_the_first_breach_and_the_first_month_in_effect_differ():
    triggers = [
        {
            "name": "bb_deficiency",
            "ratio": "borrowing_base_deficiency",
            "op": ">",
            "threshold": 0,
            "effect": "early_amortization",
            "cure": "after_waterfall",
            "cure_periods": 2,
        }
    ]
    config = warehouse(triggers=triggers)
    spike = {  # the loss spike of stress_path, held for two months
        "payment_rate": [0.20, 0.02, 0.02, 0.20],
        "purchase_rate": [0.25, 0, 0, 0.25],
        "gross_chargeoff_rate": [0.06, 0.60, 0.60, 0.06],
    }
    projection = project(config, warehouse_start(config), scenario(6, **spike))
    rows = {r[2]: (r[1], r[3]) for r in projection_rows(config, projection)}
    assert rows["summary.trigger.bb_deficiency.first_breach"] == ("2025-05", 2)
    assert rows["summary.trigger.bb_deficiency.first_in_effect"] == ("2025-06", 3)
    assert rows["summary.amortization.start"] == ("2025-07", 4)
