"""Waterfall engine: hand-computed periods, config validation, state.

Amounts are cents. Periods run month end to month end; the 30/360 notes
accrue exactly 30/360 (February is avoided on purpose), so a 600 bps class
of 120,000,000 accrues 600,000 a month.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from funding.daycount import DAY_COUNTS
from funding.structure.config import DayCount, StructureConfig
from funding.structure.rates import parse_fixings
from funding.structure.waterfall import (
    MissingPredecessorError,
    PeriodInputs,
    VehicleState,
    WaterfallResult,
    allocate_pro_rata,
    check_invariants,
    initial_state,
    run_waterfall,
)
from funding.structure.waterfall.accruals import note_rate

# ---------------------------------------------------------------------------
# builders


def month(year: int, month_number: int) -> dict[str, date]:
    start = date(year, month_number, 1)
    next_start = date(year + month_number // 12, month_number % 12 + 1, 1)
    return {
        "period_start": start,
        "period_end": date.fromordinal(next_start.toordinal() - 1),
        "previous_period_end": date.fromordinal(start.toordinal() - 1),
    }


def pool(
    fcc: int, *, recoveries: int = 0, principal: int = 0, chargeoffs: int = 0, beginning: int = 0
) -> dict[str, int]:
    return {
        "finance_charge_collections": fcc,
        "recoveries": recoveries,
        "principal_collections": principal,
        "chargeoff_principal": chargeoffs,
        "beginning_principal": beginning,
    }


def note(cls: str, balance: int, rate: dict[str, Any], day_count: str = "30/360") -> dict:
    return {"class": cls, "initial_balance_cents": balance, "rate": rate, "day_count": day_count}


def step(pay: str, **keys: Any) -> dict[str, Any]:
    return {"pay": pay, **keys}


TRUST_INTEREST_WATERFALL = [
    step("fee", name="trustee_fee"),
    step("fee", name="servicing_fee"),
    step("interest", **{"class": "A"}),
    step("interest", **{"class": "B"}),
    step("defaulted_amount"),
    step("chargeoff_reimbursement"),
    step("reserve_deposit"),
    step("release"),
]


def trust_doc(**overrides: Any) -> dict[str, Any]:
    """funding.md's example trust, scaled down to numbers one can check by hand."""
    doc: dict[str, Any] = {
        "notes": [
            note("A", 120_000_000, {"fixed_bps": 600}),
            note("B", 30_000_000, {"fixed_bps": 1200}),
        ],
        "fees": [
            {"name": "trustee_fee", "flat_cents": 50_000},
            {
                "name": "servicing_fee",
                "rate_bps": 200,
                "basis": "beginning_invested",
                "day_count": "30/360",
            },
        ],
        "reserve_account": {
            "initial_cents": 1_500_000,
            "target": {"pct_of_notes_bps": 100, "floor_cents": 1_000_000},
        },
        "investor_allocation": "floating",
        "available_funds": ["finance_charge_collections", "recoveries"],
        "waterfall": {
            "interest": TRUST_INTEREST_WATERFALL,
            "principal": {
                "revolving": [step("borrowing_base_cure"), step("release")],
                "amortizing": [
                    step("principal", classes=["A", "B"], mode="sequential"),
                    step("release"),
                ],
            },
        },
        "reserve_covers": [{"fee": "servicing_fee"}, {"interest": "A"}, {"interest": "B"}],
    }
    doc.update(overrides)
    return copy.deepcopy(doc)


def without_reserve(doc: dict[str, Any]) -> dict[str, Any]:
    doc = {k: v for k, v in doc.items() if k not in ("reserve_account", "reserve_covers")}
    interest = [s for s in doc["waterfall"]["interest"] if s["pay"] != "reserve_deposit"]
    doc["waterfall"] = {**doc["waterfall"], "interest": interest}
    return doc


def config(doc: dict[str, Any]) -> StructureConfig:
    return StructureConfig.model_validate(doc)


def run(
    cfg: StructureConfig, previous: VehicleState | None, when: dict[str, date], **inputs: Any
) -> WaterfallResult:
    result = run_waterfall(cfg, previous, PeriodInputs(**when, **inputs))
    assert check_invariants(result) == []
    return result


def rows(result: WaterfallResult, waterfall: str) -> list[tuple]:
    """(step, action, target, due, paid, shortfall, from_reserve, available_after)."""
    return [
        (
            r.step,
            r.action,
            r.target,
            r.due_cents,
            r.paid_cents,
            r.shortfall_cents,
            r.from_reserve_cents,
            r.available_after_cents,
        )
        for r in result.statement
        if r.waterfall == waterfall
    ]


MAY_2025 = month(2025, 5)
JUNE_2025 = month(2025, 6)

# ---------------------------------------------------------------------------
# single periods, computed by hand


def test_ample_funds_pays_every_step_and_releases_the_rest() -> None:
    # investor % = 150,000,000 / 200,000,000 = 75%
    result = run(
        config(trust_doc()),
        None,
        MAY_2025,
        pool=pool(
            4_000_000,
            recoveries=400_000,
            principal=20_000_000,
            chargeoffs=1_200_000,
            beginning=200_000_000,
        ),
    )
    assert result.investor_percentage == Fraction(3, 4)
    assert rows(result, "interest") == [
        (0, "reserve_release", "interest_funds", 0, 0, 0, 0, 3_300_000),
        (1, "fee", "trustee_fee", 50_000, 50_000, 0, 0, 3_250_000),
        (2, "fee", "servicing_fee", 250_000, 250_000, 0, 0, 3_000_000),  # 150m x 2% / 12
        (3, "interest", "A", 600_000, 600_000, 0, 0, 2_400_000),
        (4, "interest", "B", 300_000, 300_000, 0, 0, 2_100_000),
        (5, "defaulted_amount", "principal_funds", 900_000, 900_000, 0, 0, 1_200_000),
        (6, "chargeoff_reimbursement", "A", 0, 0, 0, 0, 1_200_000),
        (6, "chargeoff_reimbursement", "B", 0, 0, 0, 0, 1_200_000),
        (7, "reserve_deposit", "reserve", 0, 0, 0, 0, 1_200_000),
        (8, "release", "seller", 1_200_000, 1_200_000, 0, 0, 0),
    ]
    # principal funds = 75% x 20,000,000 + the defaulted amount covered
    assert rows(result, "principal") == [
        (1, "borrowing_base_cure", "A", 0, 0, 0, 0, 15_900_000),
        (1, "borrowing_base_cure", "B", 0, 0, 0, 0, 15_900_000),
        (2, "release", "seller", 15_900_000, 15_900_000, 0, 0, 0),
    ]
    # (3,300,000 - 300,000 - 900,000 - 900,000) x 12 / 150,000,000
    assert result.excess_spread == Fraction(96, 1000)
    assert result.sources_total == result.uses_total == 18_300_000
    assert result.uses == {
        "fees": 300_000,
        "interest": 900_000,
        "principal": 0,
        "reserve_deposits": 0,
        "release_to_seller": 17_100_000,
        "draw_to_seller": 0,
    }
    state = result.state
    assert state.note_balances == {"A": 120_000_000, "B": 30_000_000}
    assert state.reserve_cents == 1_500_000
    assert state.status == "revolving"
    assert state.unpaid_interest == {"A": 0, "B": 0}


def test_interest_shortfall_is_covered_partly_by_the_reserve_and_carried() -> None:
    cfg = config(
        trust_doc(
            reserve_account={
                "initial_cents": 500_000,
                "target": {"pct_of_notes_bps": 100, "floor_cents": 1_000_000},
            }
        )
    )
    may = run(cfg, None, MAY_2025, pool=pool(800_000, beginning=200_000_000))
    assert rows(may, "interest") == [
        (0, "reserve_release", "interest_funds", 0, 0, 0, 0, 600_000),
        (1, "fee", "trustee_fee", 50_000, 50_000, 0, 0, 550_000),
        (2, "fee", "servicing_fee", 250_000, 250_000, 0, 0, 300_000),
        (3, "interest", "A", 600_000, 600_000, 0, 300_000, 0),  # reserve 500,000 -> 200,000
        (4, "interest", "B", 300_000, 200_000, 100_000, 200_000, 0),  # reserve empty
        (5, "defaulted_amount", "principal_funds", 0, 0, 0, 0, 0),
        (6, "chargeoff_reimbursement", "A", 0, 0, 0, 0, 0),
        (6, "chargeoff_reimbursement", "B", 0, 0, 0, 0, 0),
        (7, "reserve_deposit", "reserve", 1_500_000, 0, 1_500_000, 0, 0),
        (8, "release", "seller", 0, 0, 0, 0, 0),
    ]
    assert may.state.unpaid_interest == {"A": 0, "B": 100_000}
    assert may.state.reserve_cents == 0
    assert may.sources["reserve_draws"] == 500_000

    # B's carried 100,000 is added without interest on it; the reserve refills to target
    june = run(cfg, may.state, JUNE_2025, pool=pool(4_000_000, beginning=200_000_000))
    assert rows(june, "interest")[4] == (4, "interest", "B", 400_000, 400_000, 0, 0, 1_700_000)
    assert rows(june, "interest")[8] == (
        7,
        "reserve_deposit",
        "reserve",
        1_500_000,
        1_500_000,
        0,
        0,
        200_000,
    )
    assert june.state.unpaid_interest == {"A": 0, "B": 0}
    assert june.state.reserve_cents == 1_500_000


def test_defaulted_amount_above_funds_charges_off_the_junior_class_then_is_reimbursed() -> None:
    cfg = config(without_reserve(trust_doc()))
    may = run(
        cfg,
        None,
        MAY_2025,
        pool=pool(2_000_000, principal=20_000_000, chargeoffs=4_000_000, beginning=200_000_000),
    )
    assert rows(may, "interest") == [
        (1, "fee", "trustee_fee", 50_000, 50_000, 0, 0, 1_450_000),
        (2, "fee", "servicing_fee", 250_000, 250_000, 0, 0, 1_200_000),
        (3, "interest", "A", 600_000, 600_000, 0, 0, 600_000),
        (4, "interest", "B", 300_000, 300_000, 0, 0, 300_000),
        (5, "defaulted_amount", "principal_funds", 3_000_000, 300_000, 2_700_000, 0, 0),
        # the 2,700,000 written down at step 5 is due from June: only charge-offs
        # of earlier periods are due for reimbursement, so nothing is short here
        (6, "chargeoff_reimbursement", "A", 0, 0, 0, 0, 0),
        (6, "chargeoff_reimbursement", "B", 0, 0, 0, 0, 0),
        (7, "release", "seller", 0, 0, 0, 0, 0),
    ]
    assert may.investor_chargeoffs == {"A": 0, "B": 2_700_000}
    assert may.state.note_balances == {"A": 120_000_000, "B": 27_300_000}
    assert may.state.unreimbursed_chargeoffs == {"A": 0, "B": 2_700_000}

    # June: invested 147,300,000 = 75% of the pool; interest on B's written-down balance
    june = run(cfg, may.state, JUNE_2025, pool=pool(8_000_000, beginning=196_400_000))
    assert rows(june, "interest") == [
        (1, "fee", "trustee_fee", 50_000, 50_000, 0, 0, 5_950_000),
        (2, "fee", "servicing_fee", 245_500, 245_500, 0, 0, 5_704_500),
        (3, "interest", "A", 600_000, 600_000, 0, 0, 5_104_500),
        (4, "interest", "B", 273_000, 273_000, 0, 0, 4_831_500),
        (5, "defaulted_amount", "principal_funds", 0, 0, 0, 0, 4_831_500),
        (6, "chargeoff_reimbursement", "A", 0, 0, 0, 0, 4_831_500),
        (6, "chargeoff_reimbursement", "B", 2_700_000, 2_700_000, 0, 0, 2_131_500),
        (7, "release", "seller", 2_131_500, 2_131_500, 0, 0, 0),
    ]
    assert june.state.note_balances == {"A": 120_000_000, "B": 30_000_000}
    assert june.state.unreimbursed_chargeoffs == {"A": 0, "B": 0}
    # the reimbursement went to the principal funds (released while revolving)
    assert rows(june, "principal")[-1] == (2, "release", "seller", 2_700_000, 2_700_000, 0, 0, 0)


def test_charge_off_larger_than_the_junior_class_continues_up_the_stack() -> None:
    doc = without_reserve(trust_doc())
    doc["notes"] = [
        note("A", 120_000_000, {"fixed_bps": 600}),
        note("B", 1_000_000, {"fixed_bps": 0}),
    ]
    # invested 121,000,000 = pool: investor % 100%; funds cover fees and interest only
    cfg = config(doc)
    servicing = 201_667  # 121,000,000 x 2% / 12 = 201,666.67
    fcc = 50_000 + servicing + 600_000
    result = run(cfg, None, MAY_2025, pool=pool(fcc, chargeoffs=2_700_000, beginning=121_000_000))
    assert result.investor_chargeoffs == {"A": 1_700_000, "B": 1_000_000}
    assert result.state.note_balances == {"A": 118_300_000, "B": 0}


def test_reserve_above_target_releases_the_excess_into_interest_funds_first() -> None:
    cfg = config(
        trust_doc(
            reserve_account={
                "initial_cents": 2_000_000,
                "target": {"pct_of_notes_bps": 100, "floor_cents": 1_000_000},
            }
        )
    )
    result = run(
        cfg,
        None,
        MAY_2025,
        pool=pool(4_000_000, recoveries=400_000, chargeoffs=1_200_000, beginning=200_000_000),
    )
    assert result.reserve_target_cents == 1_500_000  # 1% of 150,000,000 beats the floor
    interest = rows(result, "interest")
    assert interest[0] == (
        0,
        "reserve_release",
        "interest_funds",
        500_000,
        500_000,
        0,
        500_000,
        3_800_000,
    )
    assert interest[-1] == (8, "release", "seller", 1_700_000, 1_700_000, 0, 0, 0)
    assert result.state.reserve_cents == 1_500_000
    assert result.sources["reserve_release"] == 500_000


def test_reserve_target_floor_binds_and_nothing_is_released() -> None:
    cfg = config(
        trust_doc(
            reserve_account={
                "initial_cents": 2_000_000,
                "target": {"pct_of_notes_bps": 100, "floor_cents": 2_500_000},
            }
        )
    )
    result = run(cfg, None, MAY_2025, pool=pool(4_000_000, beginning=200_000_000))
    assert result.reserve_target_cents == 2_500_000
    assert rows(result, "interest")[0][3:5] == (0, 0)
    assert rows(result, "interest")[8] == (
        7,
        "reserve_deposit",
        "reserve",
        500_000,
        500_000,
        0,
        0,
        1_300_000,
    )


def floating_doc(floor_bps: int | None, rounding: str = "half_up") -> dict[str, Any]:
    rate: dict[str, Any] = {"index": "SOFR30A", "margin_bps": 150}
    if floor_bps is not None:
        rate["floor_bps"] = floor_bps
    doc = trust_doc(rounding=rounding)
    doc["notes"] = [note("A", 120_000_000, rate, "ACT/360"), doc["notes"][1]]
    return doc


@pytest.mark.parametrize(
    ("fixing_bps", "expected_bps", "expected_interest"),
    [
        (200, 400, 413_333),  # 350 floored at 400: 120m x 4% x 31/360 = 413,333.33
        (300, 450, 465_000),  # 450 above the floor: 120m x 4.5% x 31/360 = 465,000.00
        (Decimal("287.5"), 437.5, 452_083),  # fractional fixing: 452,083.33
    ],
)
def test_floating_rate_is_index_plus_margin_floored(
    fixing_bps: int | Decimal, expected_bps: float, expected_interest: int
) -> None:
    cfg = config(floating_doc(floor_bps=400))
    assert note_rate(cfg.note("A"), {"SOFR30A": fixing_bps}) == Fraction(str(expected_bps)) / 10_000
    result = run(
        cfg,
        None,
        MAY_2025,
        pool=pool(9_000_000, beginning=150_000_000),
        fixings={"SOFR30A": fixing_bps},
    )
    assert rows(result, "interest")[3][:4] == (3, "interest", "A", expected_interest)


def test_floating_rate_without_floor_and_fixings_from_the_file() -> None:
    doc = floating_doc(floor_bps=None)
    doc["notes"][0]["rate"]["margin_bps"] = 50
    cfg = config(doc)
    table = parse_fixings(
        "index,fixing_date,rate_bps\nSOFR30A,2025-04-01,100\nSOFR30A,2025-05-01,-100\n"
    )
    fixings = table.for_period(cfg.floating_indices(), MAY_2025["period_start"])
    assert fixings == {"SOFR30A": Decimal(-100)}
    assert note_rate(cfg.note("A"), fixings) == Fraction(-50, 10_000)
    # a negative coupon accrues nothing rather than charging the noteholders
    result = run(cfg, None, MAY_2025, pool=pool(9_000_000, beginning=150_000_000), fixings=fixings)
    assert rows(result, "interest")[3][:4] == (3, "interest", "A", 0)


def test_missing_fixing_is_an_error_naming_the_index() -> None:
    cfg = config(floating_doc(floor_bps=0))
    with pytest.raises(KeyError, match="SOFR30A"):
        run_waterfall(cfg, None, PeriodInputs(**MAY_2025, pool=pool(1, beginning=1)))


def test_truncate_and_half_up_differ_by_a_cent() -> None:
    # 100,000,000 x 5% x 31/360 = 430,555.56
    def interest_due(rounding: str) -> int:
        doc = trust_doc(rounding=rounding)
        doc["notes"] = [note("A", 100_000_000, {"fixed_bps": 500}, "ACT/360"), doc["notes"][1]]
        result = run(config(doc), None, MAY_2025, pool=pool(9_000_000, beginning=130_000_000))
        return rows(result, "interest")[3][3]

    assert interest_due("half_up") == 430_556
    assert interest_due("truncate") == 430_555


# ---------------------------------------------------------------------------
# several periods


def amortization_doc() -> dict[str, Any]:
    return {
        "notes": [
            note("A", 10_000_000, {"fixed_bps": 600}),  # 50,000 a month
            note("B", 5_000_000, {"fixed_bps": 1200}),  # 50,000 a month
        ],
        "investor_allocation": "full",
        "available_funds": ["finance_charge_collections"],
        "waterfall": {
            "interest": [
                step("interest", **{"class": "A"}),
                step("interest", **{"class": "B"}),
                step("defaulted_amount"),
                step("chargeoff_reimbursement"),
                step("release"),
            ],
            "principal": {
                "revolving": [step("release")],
                "amortizing": [
                    step("principal", classes=["A", "B"], mode="sequential"),
                    step("release"),
                ],
            },
        },
        "triggers": [
            {
                "name": "excess_spread_3m",
                "ratio": "excess_spread_3m_avg",
                "op": "<",
                "threshold": 0,
                "effect": "early_amortization",
            }
        ],
    }


def test_negative_three_month_excess_spread_flips_to_early_amortization_then_pays_a_before_b() -> (
    None
):
    cfg = config(amortization_doc())

    april = run(cfg, None, month(2025, 4), pool=pool(200_000, principal=1_000_000))
    assert april.excess_spread == Fraction(2, 25)  # 100,000 x 12 / 15,000,000
    assert april.excess_spread_3m_avg is None
    assert april.trigger_tests[0].value is None and not april.trigger_tests[0].breached

    may = run(
        cfg, april.state, MAY_2025, pool=pool(150_000, principal=1_000_000, chargeoffs=100_000)
    )
    assert may.excess_spread == Fraction(-1, 25)  # -50,000 x 12 / 15,000,000
    assert may.investor_chargeoffs == {"A": 0, "B": 50_000}
    assert may.state.status == "revolving"

    june = run(
        cfg, may.state, JUNE_2025, pool=pool(99_500, principal=6_000_000, chargeoffs=200_000)
    )
    assert june.excess_spread == Fraction(-2_400_000, 14_950_000)
    assert june.excess_spread_3m_avg == (Fraction(2, 25) - Fraction(1, 25) - Fraction(48, 299)) / 3
    assert june.trigger_tests[0].breached
    assert june.state.status == "early_amortization"
    assert rows(june, "principal") == [
        (1, "principal_sequential", "A", 10_000_000, 6_000_000, 4_000_000, 0, 0),
        (1, "principal_sequential", "B", 4_750_000, 0, 4_750_000, 0, 0),
        (2, "release", "seller", 0, 0, 0, 0, 0),
    ]

    july = run(cfg, june.state, month(2025, 7), pool=pool(300_000, principal=5_000_000))
    assert not july.trigger_tests[0].breached  # the average recovered...
    assert july.state.status == "early_amortization"  # ...but early amortization is permanent
    assert rows(july, "interest")[:2] == [
        (1, "interest", "A", 20_000, 20_000, 0, 0, 280_000),
        (2, "interest", "B", 47_500, 47_500, 0, 0, 232_500),
    ]
    assert rows(july, "principal") == [
        (1, "principal_sequential", "A", 4_000_000, 4_000_000, 0, 0, 1_232_500),
        (1, "principal_sequential", "B", 4_982_500, 1_232_500, 3_750_000, 0, 0),
        (2, "release", "seller", 0, 0, 0, 0, 0),
    ]
    assert july.state.note_balances == {"A": 0, "B": 3_750_000}
    assert july.state.unreimbursed_chargeoffs == {"A": 0, "B": 17_500}

    august = run(cfg, july.state, month(2025, 8), pool=pool(100_000, principal=1_000_000))
    assert rows(august, "principal")[:2] == [
        (1, "principal_sequential", "A", 0, 0, 0, 0, 1_017_500),
        (1, "principal_sequential", "B", 3_767_500, 1_017_500, 2_750_000, 0, 0),
    ]
    assert august.state.note_balances == {"A": 0, "B": 2_750_000}


def cash_trap_doc() -> dict[str, Any]:
    return {
        "notes": [note("A", 10_000_000, {"fixed_bps": 600})],
        "reserve_account": {
            "initial_cents": 100_000,
            "target": {"pct_of_notes_bps": 100, "floor_cents": 50_000},
        },
        "available_funds": ["finance_charge_collections"],
        "waterfall": {
            "interest": [
                step("interest", **{"class": "A"}),
                step("reserve_deposit"),
                step("release"),
            ],
            "principal": {
                "revolving": [step("release")],
                "amortizing": [
                    step("principal", classes=["A"], mode="sequential"),
                    step("release"),
                ],
            },
        },
        "triggers": [
            {
                "name": "delinquency_60_3m",
                "ratio": "delinquency_60_plus_3m_avg",
                "op": ">",
                "threshold": 0.06,
                "effect": "cash_trap",
            }
        ],
    }


def test_cash_trap_sends_the_release_to_the_reserve_and_cures() -> None:
    cfg = config(cash_trap_doc())
    trapped = run(
        cfg,
        None,
        month(2025, 4),
        pool=pool(150_000),
        ratios={"delinquency_60_plus_3m_avg": Decimal("0.07")},
    )
    assert rows(trapped, "interest") == [
        (0, "reserve_release", "interest_funds", 0, 0, 0, 0, 150_000),
        (1, "interest", "A", 50_000, 50_000, 0, 0, 100_000),
        (2, "reserve_deposit", "reserve", 0, 0, 0, 0, 100_000),
        (3, "release_to_reserve", "reserve", 100_000, 100_000, 0, 0, 0),
    ]
    assert trapped.state.cash_trap and trapped.state.reserve_cents == 200_000
    assert trapped.state.status == "revolving"

    still = run(
        cfg,
        trapped.state,
        MAY_2025,
        pool=pool(150_000),
        ratios={"delinquency_60_plus_3m_avg": Decimal("0.0601")},
    )
    assert rows(still, "interest")[0][3] == 0  # trapped cash stays in the reserve
    assert still.state.reserve_cents == 300_000

    cured = run(
        cfg,
        still.state,
        JUNE_2025,
        pool=pool(150_000),
        ratios={"delinquency_60_plus_3m_avg": Decimal("0.06")},  # not above 6%
    )
    assert not cured.state.cash_trap
    assert rows(cured, "interest") == [
        (0, "reserve_release", "interest_funds", 200_000, 200_000, 0, 200_000, 350_000),
        (1, "interest", "A", 50_000, 50_000, 0, 0, 300_000),
        (2, "reserve_deposit", "reserve", 0, 0, 0, 0, 300_000),
        (3, "release", "seller", 300_000, 300_000, 0, 0, 0),
    ]
    assert cured.state.reserve_cents == 100_000


def test_scheduled_amortization_after_the_revolving_period_end() -> None:
    cfg = config({**cash_trap_doc(), "triggers": [], "revolving_period_end": "2025-04-30"})
    april = run(cfg, None, month(2025, 4), pool=pool(150_000, principal=1_000_000))
    may = run(cfg, april.state, MAY_2025, pool=pool(150_000, principal=1_000_000))
    assert april.state.status == "revolving"
    assert may.state.status == "amortizing"
    assert may.state.note_balances == {"A": 9_000_000}


# ---------------------------------------------------------------------------
# warehouse


def warehouse_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "notes": [
            note(
                "ADV",
                70_000_000,
                {"index": "SOFR30A", "margin_bps": 250, "floor_bps": 0},
                "ACT/360",
            )
        ],
        "investor_allocation": "full",
        "waterfall": {
            "interest": [step("interest", **{"class": "ADV"}), step("release")],
            "principal": {
                "revolving": [step("borrowing_base_cure"), step("release")],
                "amortizing": [
                    step("principal", classes=["ADV"], mode="sequential"),
                    step("release"),
                ],
            },
        },
    }
    doc.update(overrides)
    return doc


def test_warehouse_draws_its_availability_after_the_waterfall() -> None:
    cfg = config(warehouse_doc())
    result = run(
        cfg,
        None,
        MAY_2025,
        pool=pool(1_000_000, principal=5_000_000),
        fixings={"SOFR30A": 400},
        borrowing_base_cents=80_000_000,
    )
    # 70,000,000 x 6.5% x 31/360 = 391,805.56
    assert rows(result, "interest")[0] == (1, "interest", "ADV", 391_806, 391_806, 0, 0, 608_194)
    assert rows(result, "principal") == [
        (1, "borrowing_base_cure", "ADV", 0, 0, 0, 0, 5_000_000),
        (2, "release", "seller", 5_000_000, 5_000_000, 0, 0, 0),
    ]
    assert rows(result, "facility") == [(1, "draw", "ADV", 10_000_000, 10_000_000, 0, 0, 0)]
    assert result.state.advances_cents == result.state.note_balances["ADV"] == 80_000_000
    assert result.sources["facility_draw"] == result.uses["draw_to_seller"] == 10_000_000


def test_warehouse_deficiency_is_cured_from_principal_and_nothing_is_drawn() -> None:
    cfg = config(warehouse_doc())
    result = run(
        cfg,
        None,
        MAY_2025,
        pool=pool(1_000_000, principal=4_000_000),
        fixings={"SOFR30A": 400},
        borrowing_base_cents=60_000_000,
    )
    assert rows(result, "principal") == [
        (1, "borrowing_base_cure", "ADV", 10_000_000, 4_000_000, 6_000_000, 0, 0),
        (2, "release", "seller", 0, 0, 0, 0, 0),
    ]
    assert rows(result, "facility") == [(1, "draw", "ADV", 0, 0, 0, 0, 0)]
    assert result.state.advances_cents == 66_000_000


def test_warehouse_deficiency_trigger_amortizes_and_stops_draws() -> None:
    trigger = {
        "name": "bb_deficiency",
        "ratio": "borrowing_base_deficiency",
        "op": ">",
        "threshold": 0,
        "effect": "early_amortization",
    }
    cfg = config(warehouse_doc(triggers=[trigger]))
    common = {"fixings": {"SOFR30A": 400}}
    bad = run(
        cfg,
        None,
        MAY_2025,
        pool=pool(1_000_000, principal=4_000_000),
        borrowing_base_cents=60_000_000,
        **common,
    )
    assert bad.trigger_tests[0].value == 10_000_000 and bad.trigger_tests[0].breached
    assert rows(bad, "principal")[0] == (
        1,
        "principal_sequential",
        "ADV",
        70_000_000,
        4_000_000,
        66_000_000,
        0,
        0,
    )
    later = run(
        cfg,
        bad.state,
        JUNE_2025,
        pool=pool(1_000_000, principal=4_000_000),
        borrowing_base_cents=90_000_000,
        **common,
    )
    assert later.state.status == "early_amortization"
    assert rows(later, "facility") == [(1, "draw", "ADV", 0, 0, 0, 0, 0)]
    assert later.state.advances_cents == 62_000_000


def test_warehouse_state_needs_the_borrowing_base_every_period() -> None:
    cfg = config(warehouse_doc())
    first = run(
        cfg,
        None,
        MAY_2025,
        pool=pool(1_000_000),
        fixings={"SOFR30A": 400},
        borrowing_base_cents=70_000_000,
    )
    with pytest.raises(ValueError, match="borrowing_base_cents"):
        run_waterfall(
            cfg, first.state, PeriodInputs(**JUNE_2025, pool=pool(1), fixings={"SOFR30A": 400})
        )


def test_initial_state_of_a_composed_vehicle_with_a_facility_carries_advances() -> None:
    class Vehicle(StructureConfig):  # stands in for the vehicle model that adds `facility`
        facility: dict[str, Any] | None = None

    vehicle = Vehicle.model_validate({**warehouse_doc(), "facility": {"commitment_cents": 1}})
    assert initial_state(vehicle, date(2025, 4, 30)).advances_cents == 70_000_000
    assert initial_state(config(trust_doc()), date(2025, 4, 30)).advances_cents is None
    two_classes = {**trust_doc(), "facility": {"commitment_cents": 1}}
    with pytest.raises(ValidationError, match="exactly one note class"):
        Vehicle.model_validate(two_classes)


# ---------------------------------------------------------------------------
# cross-check against published open-source waterfall test values


def three_class_doc() -> dict[str, Any]:
    zero = {"fixed_bps": 0}  # only carried interest is due, so dues are exactly as published
    return {
        "notes": [note("A", 1_000, zero), note("B", 1_000, zero), note("C", 1_000, zero)],
        "fees": [{"name": "service_fee", "flat_cents": 50}],
        "available_funds": ["finance_charge_collections"],
        "waterfall": {
            "interest": [
                step("fee", name="service_fee"),
                step("interest", **{"class": "A"}),
                step("interest", **{"class": "B"}),
                step("interest", **{"class": "C"}),
                step("release"),
            ],
            "principal": {
                "revolving": [step("release")],
                "amortizing": [
                    step("principal", classes=["A", "B", "C"], mode="pro_rata"),
                    step("release"),
                ],
            },
        },
    }


def state_owing(
    cfg: StructureConfig, interest: dict[str, int], fee: int = 0, balances: dict | None = None
) -> VehicleState:
    opening = initial_state(cfg, MAY_2025["previous_period_end"])
    return replace(
        opening,
        unpaid_interest=interest,
        unpaid_fees={"service_fee": fee},
        note_balances=balances or opening.note_balances,
    )


@pytest.mark.parametrize(
    ("dues", "paid"),
    [
        # yellowbean/Hastructure test/UT/LibTest.hs, seqFunTest:
        # paySeqLiabilitiesAmt 120 [100,20,0] == [100,20,0]   ("clear:even")
        # paySeqLiabilitiesAmt 120 [100,20,10] == [100,20,0]  ("shortfall")
        # paySeqLiabilitiesAmt 120 [100,10,0] == [100,10,0]   ("over")
        ((100, 20, 0), (100, 20, 0)),
        ((100, 20, 10), (100, 20, 0)),
        ((100, 10, 0), (100, 10, 0)),
    ],
)
def test_interest_paid_by_seniority_matches_hastructure(dues: tuple, paid: tuple) -> None:
    cfg = config(three_class_doc())
    owing = dict(zip("ABC", dues, strict=True))
    result = run(cfg, state_owing(cfg, owing), MAY_2025, pool=pool(120 + 50))
    interest = [r for r in rows(result, "interest") if r[1] == "interest"]
    assert tuple(r[4] for r in interest) == paid
    assert result.state.unpaid_interest == {
        c: d - p for c, d, p in zip("ABC", dues, paid, strict=True)
    }


def test_fee_shortfall_carried_to_the_next_date_matches_hastructure() -> None:
    # yellowbean/Hastructure test/UT/ExpTest.hs, "calc on diff same period for recur fee":
    # a recurring fee of 50 per period with 60 still due from before is due 110.
    cfg = config(three_class_doc())
    result = run(cfg, state_owing(cfg, dict.fromkeys("ABC", 0), fee=60), MAY_2025, pool=pool(100))
    fee_row = next(r for r in rows(result, "interest") if r[1] == "fee")
    assert fee_row[3:6] == (110, 100, 10)
    assert result.state.unpaid_fees == {"service_fee": 10}


@pytest.mark.parametrize(
    ("balances", "funds", "shares"),
    [
        # yellowbean/Hastructure test/UT/LibTest.hs, prorataTests:
        # prorataFactors [100,200,300] 60 == [10,20,30]; prorataFactors [100,200,0] 60 == [20,40,0]
        ((100, 200, 300), 60, (10, 20, 30)),
        ((100, 200, 0), 60, (20, 40, 0)),
    ],
)
def test_pro_rata_principal_matches_hastructure(balances: tuple, funds: int, shares: tuple) -> None:
    assert tuple(allocate_pro_rata(funds, list(balances))) == shares
    doc = {**three_class_doc(), "revolving_period_end": "2025-04-30"}  # amortizing from May
    cfg = config(doc)
    opening = state_owing(
        cfg, dict.fromkeys("ABC", 0), balances=dict(zip("ABC", balances, strict=True))
    )
    result = run(cfg, opening, MAY_2025, pool=pool(50, principal=funds))
    assert tuple(r[4] for r in rows(result, "principal")[:3]) == shares


def test_pro_rata_shares_add_up_to_the_cent() -> None:
    assert allocate_pro_rata(100, [1, 1, 1]) == [34, 33, 33]  # the senior class takes the odd cent
    assert allocate_pro_rata(99, [100, 1]) == [98, 1]
    assert allocate_pro_rata(0, [5, 5]) == [0, 0]


# ---------------------------------------------------------------------------
# state across periods


def test_state_round_trips_through_json_with_stable_key_order() -> None:
    cfg = config(amortization_doc())
    april = run(cfg, None, month(2025, 4), pool=pool(200_000, principal=1_000_000))
    text = april.state.to_json()
    assert VehicleState.from_json(text) == april.state
    assert list(april.state.to_dict()) == [
        "period_end",
        "status",
        "cash_trap",
        "note_balances",
        "unpaid_interest",
        "unpaid_fees",
        "unreimbursed_chargeoffs",
        "reserve_cents",
        "advances_cents",
        "excess_spread_history",
        "trigger_breaches",
    ]
    assert '"excess_spread_history":["2/25"]' in text


def test_running_from_a_state_that_is_not_the_predecessor_names_the_missing_period() -> None:
    cfg = config(amortization_doc())
    april = run(cfg, None, month(2025, 4), pool=pool(200_000))
    with pytest.raises(MissingPredecessorError, match="2025-05-31.*missing"):
        run_waterfall(cfg, april.state, PeriodInputs(**JUNE_2025, pool=pool(1)))


def test_rerunning_a_period_gives_the_same_statement_and_state() -> None:
    cfg = config(trust_doc())
    inputs = PeriodInputs(
        **MAY_2025, pool=pool(4_000_000, chargeoffs=100_000, beginning=200_000_000)
    )
    first, second = run_waterfall(cfg, None, inputs), run_waterfall(cfg, None, inputs)
    assert first.statement == second.statement
    assert first.state.to_json() == second.state.to_json()


def test_missing_pool_measure_is_an_error_naming_it() -> None:
    cfg = config(trust_doc())
    measures = pool(1, beginning=1)
    del measures["recoveries"]
    with pytest.raises(KeyError, match="recoveries"):
        run_waterfall(cfg, None, PeriodInputs(**MAY_2025, pool=measures))


# ---------------------------------------------------------------------------
# config validation


def test_a_vehicle_without_notes_is_valid() -> None:
    empty = StructureConfig()
    assert empty.notes == () and empty.rounding == "half_up"


def test_the_spec_layout_with_reserve_covers_inside_waterfall_is_accepted() -> None:
    doc = trust_doc()
    covers = doc.pop("reserve_covers")
    doc["waterfall"] = {**doc["waterfall"], "reserve_covers": covers}
    assert config(doc) == config(trust_doc())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["waterfall"]["interest"].insert(3, step("interest", **{"class": "C"})),
            r"waterfall.interest step 4 \{pay: interest, class: C\}: unknown class 'C'",
        ),
        (
            lambda d: d["waterfall"]["interest"].insert(0, step("fee", name="audit_fee")),
            r"waterfall.interest step 1 \{pay: fee, name: audit_fee\}: unknown fee 'audit_fee'",
        ),
        (
            lambda d: d["waterfall"]["principal"]["amortizing"][0].update(classes=["A", "Z"]),
            r"waterfall.principal.amortizing step 1 .*unknown class 'Z'",
        ),
        (
            lambda d: d["reserve_covers"].append({"interest": "M"}),
            r"reserve_covers \{interest: M\}: unknown class 'M'",
        ),
        (lambda d: d.update(colour="blue"), "colour"),
        (
            lambda d: d["waterfall"]["interest"].append(step("fee", name="trustee_fee")),
            "last step must be",
        ),
        (lambda d: d["notes"][0]["rate"].update(index="SOFR30A"), "fixed_bps"),
        (
            lambda d: d["waterfall"]["interest"].insert(
                0, step("principal", classes=["A"], mode="sequential")
            ),
            "not allowed in the interest waterfall",
        ),
        (lambda d: d["waterfall"]["interest"].pop(3), "class 'B' has no"),
    ],
)
def test_config_errors_name_the_step_and_the_name(change: Any, message: str) -> None:
    doc = trust_doc()
    change(doc)
    with pytest.raises(ValidationError, match=message):
        config(doc)


def test_trigger_threshold_is_read_exactly_from_a_yaml_float() -> None:
    assert config(cash_trap_doc()).triggers[0].threshold == Decimal("0.06")


def test_day_count_names_match_funding_daycount() -> None:
    assert set(get_args(DayCount)) == set(DAY_COUNTS)


# ---------------------------------------------------------------------------
# the invariant checks catch what they are for


def tampered(result: WaterfallResult, index: int, **changes: int) -> WaterfallResult:
    statement = list(result.statement)
    statement[index] = replace(statement[index], **changes)
    return replace(result, statement=tuple(statement))


def shortfall_period() -> WaterfallResult:
    cfg = config(without_reserve(trust_doc()))
    return run(
        cfg,
        None,
        MAY_2025,
        pool=pool(2_000_000, principal=20_000_000, chargeoffs=4_000_000, beginning=200_000_000),
    )


def invariants_broken(result: WaterfallResult) -> set[str]:
    return {violation.invariant for violation in check_invariants(result)}


def test_invariants_catch_cash_that_appears_from_nowhere() -> None:
    result = shortfall_period()
    more = replace(result, sources={**result.sources, "principal_funds.principal_collections": 1})
    assert "sources_equal_uses" in invariants_broken(more)


def test_invariants_catch_a_negative_balance() -> None:
    result = shortfall_period()
    state = replace(result.state, note_balances={"A": 120_000_000, "B": -1})
    assert "no_negative_balances" in invariants_broken(replace(result, state=state))


def test_invariants_catch_paying_more_than_due() -> None:
    row = tampered(shortfall_period(), 0, paid_cents=50_001)  # trustee fee due 50,000
    assert "paid_not_above_due" in invariants_broken(row)


def test_invariants_catch_a_junior_payment_while_a_senior_step_is_short() -> None:
    # the defaulted amount (row 4) is short; reimbursing B (row 6) must then pay nothing
    result = tampered(shortfall_period(), 6, paid_cents=1, shortfall_cents=2_699_999)
    violations = [v for v in check_invariants(result) if v.invariant == "seniority"]
    assert len(violations) == 1
    assert "step 6 chargeoff_reimbursement B" in violations[0].message
    assert "step 5 defaulted_amount" in violations[0].message


def test_invariants_catch_a_balance_that_does_not_roll_forward() -> None:
    result = shortfall_period()
    state = replace(result.state, note_balances={"A": 120_000_000, "B": 30_000_000})
    violations = check_invariants(replace(result, state=state))
    assert [v.invariant for v in violations] == ["balances_roll_forward"]
    assert "class B" in violations[0].message


# ---------------------------------------------------------------------------
# rate-based fees by day count, and notes sized on the pool at closing


@pytest.mark.parametrize(
    ("day_count", "expected_cents"),
    [
        # 70,000,000.00 x 2% x 31/360 = 120,555.555... -> 120,555.56
        ("ACT/360", 12_055_556),
        # 70,000,000.00 x 2% x 31/365 = 118,904.109... -> 118,904.11
        ("ACT/365F", 11_890_411),
        # 70,000,000.00 x 2% x 30/360 = 116,666.666... -> 116,666.67 (May 1 to May 31 counts 30)
        ("30/360", 11_666_667),
    ],
)
def test_a_rate_based_fee_accrues_over_its_day_count(day_count, expected_cents) -> None:
    """May 2025: 30 April to 31 May is a 31-day period."""
    doc = without_reserve(trust_doc())
    doc["notes"] = [
        note("A", 6_000_000_000, {"fixed_bps": 500}),
        note("B", 1_000_000_000, {"fixed_bps": 720}),
    ]
    doc["fees"] = [
        {"name": "trustee_fee", "flat_cents": 250_000},
        {
            "name": "servicing_fee",
            "rate_bps": 200,
            "basis": "beginning_invested",
            "day_count": day_count,
        },
    ]
    result = run(config(doc), None, MAY_2025, pool=pool(900_000_000, beginning=10_000_000_000))
    assert MAY_2025["previous_period_end"] == date(2025, 4, 30)
    assert MAY_2025["period_end"] == date(2025, 5, 31)
    assert result.fees_accrued["servicing_fee"] == expected_cents
    servicing = next(r for r in result.statement if r.target == "servicing_fee")
    assert servicing.due_cents == servicing.paid_cents == expected_cents


def test_notes_stated_as_a_share_of_the_pool_are_sized_at_closing() -> None:
    doc = trust_doc()
    doc["notes"] = [
        {
            "class": "A",
            "initial_pct_of_pool_bps": 6800,
            "rate": {"fixed_bps": 500},
            "day_count": "30/360",
        },
        {
            "class": "B",
            "initial_pct_of_pool_bps": 1200,
            "rate": {"fixed_bps": 720},
            "day_count": "30/360",
        },
    ]
    doc["reserve_account"] = {"initial_pct_of_notes_bps": 100, "target": {"pct_of_notes_bps": 100}}
    cfg = config(doc)
    assert not cfg.sized_at_closing
    with pytest.raises(ValueError, match="size it first"):
        initial_state(cfg, date(2025, 1, 31))
    # pool of 3,387,546.37 at closing: A 68% = 2,303,531.53 and B 12% = 406,505.56,
    # each rounded down to whole $1,000; the reserve 1% of 2,709,000.00 = 27,090.00
    sized = cfg.size_at_closing(338_754_637)
    state = initial_state(sized, date(2025, 1, 31))
    assert state.note_balances == {"A": 230_300_000, "B": 40_600_000}
    assert state.reserve_cents == 2_709_000
    assert sized.sized_at_closing


def test_a_note_states_its_size_one_way() -> None:
    doc = trust_doc()
    doc["notes"][0] = {**doc["notes"][0], "initial_pct_of_pool_bps": 6800}
    with pytest.raises(ValidationError, match="initial_balance_cents or initial_pct_of_pool_bps"):
        config(doc)
