"""Hand-built vehicles for the projection tests: a one-class warehouse and a
two-class trust, small enough to follow by hand, loaded through the same
model as a vehicle file."""

from __future__ import annotations

import copy
from fractions import Fraction
from typing import Any

from funding.period import Period
from funding.projections.engine import ProjectionStart
from funding.structure.waterfall import VehicleState
from funding.vehicle_config import VehicleConfig

DELINQUENCY_60_PLUS = {
    "numerator": ["delinquent_60_89", "delinquent_90_119", "delinquent_120_149", "delinquent_150_179"],
    "denominator": "ending_total",
    "annualize": "none",
}  # fmt: skip
RATIOS = [
    {
        "effective_from": "2020-01-31",
        "definitions": {
            "payment_rate": {
                "numerator": ["principal_collections", "finance_charge_collections"],
                "denominator": "beginning_total",
                "annualize": "none",
            },
            "net_chargeoff_rate": {
                "numerator": ["chargeoff_principal", "-recoveries"],
                "denominator": "beginning_principal",
                "annualize": "x12",
            },
            "delinquency_60_plus": DELINQUENCY_60_PLUS,
            # needs interest and fee collections apart: a projection cannot derive it
            "fee_share": {
                "numerator": ["fee_collections"],
                "denominator": "finance_charge_collections",
                "annualize": "none",
            },
        },
    }
]


def warehouse(**overrides: Any) -> VehicleConfig:
    """One class ADV at SOFR30A + 200 bps (ACT/360), a 1,000.00 agent fee, 85% advance
    rate, 2,000,000.00 commitment; triggers on the 60+ 3-month average and on a
    borrowing base deficiency left after the cure."""
    doc: dict[str, Any] = {
        "id": "wh_test",
        "name": "Test warehouse",
        "kind": "warehouse",
        "ratios": RATIOS,
        "eligibility": {"criteria": [{"code": "NOT_CHARGED_OFF"}], "advance_rate_pct": 85},
        "facility": {"commitment_cents": 200_000_000, "draw_policy": "max_available"},
        "notes": [
            {
                "class": "ADV",
                "initial_balance_cents": 0,
                "rate": {"index": "SOFR30A", "margin_bps": 200, "floor_bps": 0},
                "day_count": "ACT/360",
            }
        ],
        "fees": [{"name": "agent_fee", "flat_cents": 100_000}],
        "investor_allocation": "full",
        "waterfall": {
            "interest": [
                {"pay": "fee", "name": "agent_fee"},
                {"pay": "interest", "class": "ADV"},
                {"pay": "release"},
            ],
            "principal": {
                "revolving": [{"pay": "borrowing_base_cure"}, {"pay": "release"}],
                "amortizing": [
                    {"pay": "principal", "classes": ["ADV"], "mode": "sequential"},
                    {"pay": "release"},
                ],
            },
        },
        "triggers": [
            {
                "name": "delinquency_60_3m",
                "ratio": "delinquency_60_plus_3m_avg",
                "op": ">",
                "threshold": 0.08,
                "effect": "early_amortization",
            },
            {
                "name": "bb_deficiency",
                "ratio": "borrowing_base_deficiency",
                "op": ">",
                "threshold": 0,
                "effect": "early_amortization",
                "cure": "after_waterfall",
            },
        ],
    }
    doc.update(copy.deepcopy(overrides))
    return VehicleConfig.model_validate(doc)


def trust(**overrides: Any) -> VehicleConfig:
    """Class A (SOFR30A + 150, ACT/360) and B (6.5% fixed, 30/360), a reserve,
    floating allocation, an excess spread trigger and a cash trap on the 60+
    3-month average."""
    doc: dict[str, Any] = {
        "id": "trust_test",
        "name": "Test trust",
        "kind": "trust",
        "ratios": RATIOS,
        "notes": [
            {
                "class": "A",
                "initial_balance_cents": 60_000_000,
                "rate": {"index": "SOFR30A", "margin_bps": 150, "floor_bps": 0},
                "day_count": "ACT/360",
            },
            {
                "class": "B",
                "initial_balance_cents": 10_000_000,
                "rate": {"fixed_bps": 650},
                "day_count": "30/360",
            },
        ],
        "fees": [
            {"name": "trustee_fee", "flat_cents": 25_000},
            {
                "name": "servicing_fee",
                "rate_bps": 200,
                "basis": "beginning_invested",
                "day_count": "30/360",
            },
        ],
        "reserve_account": {
            "initial_cents": 1_000_000,
            "target": {"pct_of_notes_bps": 100, "floor_cents": 500_000},
        },
        "investor_allocation": "floating",
        "waterfall": {
            "interest": [
                {"pay": "fee", "name": "trustee_fee"},
                {"pay": "fee", "name": "servicing_fee"},
                {"pay": "interest", "class": "A"},
                {"pay": "interest", "class": "B"},
                {"pay": "defaulted_amount"},
                {"pay": "chargeoff_reimbursement"},
                {"pay": "reserve_deposit"},
                {"pay": "release"},
            ],
            "principal": {
                "revolving": [{"pay": "release"}],
                "amortizing": [
                    {"pay": "principal", "classes": ["A", "B"], "mode": "sequential"},
                    {"pay": "release"},
                ],
            },
            "reserve_covers": [{"fee": "servicing_fee"}, {"interest": "A"}, {"interest": "B"}],
        },
        "triggers": [
            {
                "name": "excess_spread_3m",
                "ratio": "excess_spread_3m_avg",
                "op": "<",
                "threshold": 0,
                "effect": "early_amortization",
            },
            {
                "name": "delinquency_60_3m",
                "ratio": "delinquency_60_plus_3m_avg",
                "op": ">",
                "threshold": 0.03,
                "effect": "cash_trap",
            },
        ],
    }
    doc.update(copy.deepcopy(overrides))
    return VehicleConfig.model_validate(doc)


def published_row(
    ending_principal: int, ending_total: int, sixty_plus: int, delinquency: str
) -> dict[str, Any]:
    """The columns of a pool_performance row a projection start reads."""
    return {
        "ending_principal_cents": ending_principal,
        "ending_total_cents": ending_total,
        "delinquent_60_89_cents": sixty_plus,
        "delinquent_90_119_cents": 0,
        "delinquent_120_149_cents": 0,
        "delinquent_150_179_cents": 0,
        "delinquency_60_plus": delinquency,
    }


def warehouse_start(config: VehicleConfig, advances: int = 76_500_000) -> ProjectionStart:
    """March 2025: pool principal 1,000,000.00, total receivables 1,050,000.00,
    60+ at 2%, net eligible share 90%; 765,000.00 drawn (85% x 90% x the pool)."""
    march = Period(2025, 3)
    state = VehicleState(
        period_end=march.end,
        status="revolving",
        cash_trap=False,
        note_balances={"ADV": advances},
        unpaid_interest={"ADV": 0},
        unpaid_fees={"agent_fee": 0},
        unreimbursed_chargeoffs={"ADV": 0},
        reserve_cents=0,
        advances_cents=advances,
    )
    rows = (
        published_row(95_000_000, 99_750_000, 1_995_000, "0.02"),
        published_row(100_000_000, 105_000_000, 2_100_000, "0.02"),
    )
    return ProjectionStart(march, state, rows, net_eligible_share=Fraction(9, 10))
