"""The waterfall part of an investor package, computed by hand for one trust
period (April 2025, 30/360 months of 30 days), and the report's words for
what used to print as engine codes: statement steps, trigger thresholds and
headroom, money triggers in dollars, write-downs, the reserve against its
target, the data quality statement and the tape's dictionary."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from funding.outputs.figures.pool import data_quality_sections
from funding.outputs.figures.waterfall import (
    Amortization,
    WaterfallPeriod,
    amortization_onset,
    status_section,
    trigger_section,
    waterfall_figures,
)
from funding.period import Period
from funding.structure.config import StructureConfig
from funding.structure.waterfall import PeriodInputs, VehicleState, initial_state, run_waterfall
from funding.structure.waterfall.summary import (
    investor_allocation,
    note_interest,
    waterfall_summary,
)

APRIL = {
    "period_start": date(2025, 4, 1),
    "period_end": date(2025, 4, 30),
    "previous_period_end": date(2025, 3, 31),
}
MILLION = 1_000_000_00  # cents


def trust_config(**overrides: Any) -> StructureConfig:
    doc: dict[str, Any] = {
        "notes": [
            {
                "class": "A",
                "initial_balance_cents": 60 * MILLION,
                "rate": {"fixed_bps": 500},
                "day_count": "30/360",
                "rating": "AAA(sf)",
            },
            {
                "class": "B",
                "initial_balance_cents": 10 * MILLION,
                "rate": {"fixed_bps": 720},
                "day_count": "30/360",
                "rating": "A(sf)",
            },
        ],  # fmt: skip
        "fees": [
            {"name": "trustee_fee", "flat_cents": 250_000},
            {
                "name": "servicing_fee",
                "rate_bps": 200,
                "basis": "beginning_invested",
                "day_count": "30/360",
            },
        ],  # fmt: skip
        "reserve_account": {
            "initial_cents": 700_000_00,
            "target": {"pct_of_notes_bps": 100, "floor_cents": 0},
        },
        "investor_allocation": "floating",
        "payment_day": 15,
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
                "name": "min_seller_interest",
                "ratio": "seller_interest_to_invested",
                "op": "<",
                "threshold": "0.07",
                "effect": "early_amortization",
            },
        ],  # fmt: skip
    }
    doc.update(overrides)
    return StructureConfig.model_validate(doc)


def april_pool(**overrides: int) -> dict[str, int]:
    return {
        "beginning_principal": 100 * MILLION,
        "ending_principal": 99 * MILLION,
        "finance_charge_collections": 1_800_000_00,
        "recoveries": 50_000_00,
        "principal_collections": 20 * MILLION,
        "chargeoff_principal": 500_000_00,
    } | overrides


def figures_of(
    config: StructureConfig,
    pool: dict[str, int],
    previous: VehicleState | None = None,
    summaries: list | None = None,
) -> tuple[pl.DataFrame, Any]:
    inputs = PeriodInputs(**APRIL, pool=pool)
    result = run_waterfall(
        config, previous or initial_state(config, APRIL["previous_period_end"]), inputs
    )
    summary = waterfall_summary(config, inputs, result)
    period = WaterfallPeriod(
        statement=pl.DataFrame([r.to_dict() for r in result.statement]),
        triggers=pl.DataFrame([t.to_dict() for t in result.trigger_tests]),
        opening=result.opening,
        closing=result.state,
        summaries=[*(summaries or []), (Period(2025, 4), summary.to_dicts()[0])],
        allocation=investor_allocation(config, inputs, result),
        note_interest=note_interest(config, inputs, result),
        original_balances={"A": 60 * MILLION, "B": 10 * MILLION},
    )
    return waterfall_figures(config, period), result


def cell(frame: pl.DataFrame, section: str, row: str, column: str) -> Any:
    found = frame.filter(
        (pl.col("section") == section) & (pl.col("row") == row) & (pl.col("column") == column)
    )
    assert found.height == 1, (section, row, column, frame.filter(pl.col("section") == section))
    figure = found.row(0, named=True)
    return figure[
        {"usd": "amount", "ratio": "ratio", "count": "count", "text": "text"}[figure["unit"]]
    ]


@pytest.fixture(scope="module")
def april() -> pl.DataFrame:
    frame, _ = figures_of(trust_config(), april_pool())
    return frame


def test_invested_amount_investor_percentage_and_seller_interest_by_hand(april):
    # invested amount = notes at the beginning: 60,000,000 + 10,000,000
    assert cell(april, "invested", "Invested amount", "Beginning of period") == Decimal(
        "70000000.00"
    )
    assert cell(april, "invested", "Invested amount", "End of period") == Decimal("70000000.00")
    # seller's interest = pool - invested: 100,000,000 - 70,000,000; 99,000,000 - 70,000,000
    assert cell(april, "invested", "Seller's interest", "Beginning of period") == Decimal(
        "30000000.00"
    )
    assert cell(april, "invested", "Seller's interest", "End of period") == Decimal("29000000.00")
    # 30,000,000 / 100,000,000 = 30%; 29,000,000 / 99,000,000 = 29.2929...%
    assert cell(april, "invested", "Seller's interest, % of pool", "Beginning of period") == (
        Decimal("0.300000000000")
    )
    assert cell(april, "invested", "Seller's interest, % of pool", "End of period") == (
        Decimal("0.292929292929")
    )
    # floating investor percentage = 70,000,000 / 100,000,000
    assert cell(april, "allocation_percentage", "Investor percentage", "This period") == Decimal(
        "0.700000000000"
    )
    assert cell(april, "allocation_percentage", "Seller percentage", "This period") == Decimal(
        "0.300000000000"
    )
    # 70% of each pool amount to the investor, the rest to the seller
    expected = {
        "Finance charge collections": ("1800000.00", "1260000.00", "540000.00"),
        "Recoveries": ("50000.00", "35000.00", "15000.00"),
        "Principal collections": ("20000000.00", "14000000.00", "6000000.00"),
        "Defaulted amount (principal charged off)": ("500000.00", "350000.00", "150000.00"),
    }
    for row, amounts in expected.items():
        got = tuple(
            str(cell(april, "allocation", row, column))
            for column in ("Pool", "Investor share", "Seller share")
        )
        assert got == amounts, row
    # minimum seller's interest: 29,000,000 against 7% x 70,000,000 = 4,900,000
    test = "Minimum seller's interest"
    assert cell(april, "seller_interest", test, "Seller's interest") == Decimal("29000000.00")
    assert cell(april, "seller_interest", test, "Required minimum") == Decimal("4900000.00")
    assert cell(april, "seller_interest", test, "Headroom") == Decimal("24100000.00")
    assert cell(april, "seller_interest", test, "Seller's interest, % of invested") == Decimal(
        "0.414285714286"  # 29 / 70
    )
    assert cell(april, "seller_interest", test, "Result") == "Pass"


def test_excess_spread_by_hand_to_the_basis_point(april):
    """Investor interest funds 1,260,000 + 35,000; fees 2,500 and 70,000,000 x
    2% x 30/360 = 116,666.67; interest 60,000,000 x 5% x 30/360 = 250,000 and
    10,000,000 x 7.2% x 30/360 = 60,000; defaulted 350,000. Each x 12 over
    70,000,000:"""
    month = "Apr 2025"
    rows = {
        # 1,260,000 x 12 / 70,000,000 = 21.6000%
        "Portfolio yield (finance charge collections)": "0.216000000000",
        # (310,000 + 116,666.67) x 12 / 70,000,000 = 7.3143%
        "Less: base rate": "0.073142857714",
        "Base rate: note interest": "0.053142857143",  # 310,000 x 12 / 70,000,000
        "Base rate: servicing fee": "0.020000000571",  # 116,666.67 x 12 / 70,000,000
        "Less: trustee fee": "0.000428571429",  # 2,500 x 12 / 70,000,000
        # (350,000 - 35,000) x 12 / 70,000,000 = 5.4000%
        "Less: net charge-offs (defaulted amount less recoveries)": "0.054000000000",
        # (1,295,000 - 2,500 - 116,666.67 - 310,000 - 350,000) x 12 / 70,000,000 = 8.8429%
        "Excess spread": "0.088428570857",
    }
    for row, value in rows.items():
        assert cell(april, "excess_spread", row, month) == Decimal(value), row
    assert round(cell(april, "excess_spread", "Excess spread", month) * 10_000, 2) == Decimal(
        "884.29"
    )  # basis points
    assert (
        cell(april, "excess_spread", "Excess spread", "3-month average") == "n/a (needs 3 months)"
    )


def run_months(config: StructureConfig, chargeoffs: list[int]) -> tuple[pl.DataFrame, Any, list]:
    """Feb, Mar and Apr 2025 in order (each from the previous state), as the
    package reads them: April's figures with the two months before as history."""
    state = initial_state(config, date(2025, 1, 31))
    summaries: list = []
    frame = result = None
    for (month_number, last_day), charged in zip(
        ((2, 28), (3, 31), (4, 30)), chargeoffs, strict=True
    ):
        inputs = PeriodInputs(
            period_start=date(2025, month_number, 1),
            period_end=date(2025, month_number, last_day),
            previous_period_end=state.period_end,
            pool=april_pool(chargeoff_principal=charged),
        )
        result = run_waterfall(config, state, inputs)
        summary = waterfall_summary(config, inputs, result).to_dicts()[0]
        if month_number == 4:
            frame = waterfall_figures(
                config,
                WaterfallPeriod(
                    statement=pl.DataFrame([r.to_dict() for r in result.statement]),
                    triggers=pl.DataFrame([t.to_dict() for t in result.trigger_tests]),
                    opening=result.opening,
                    closing=result.state,
                    summaries=[*summaries, (Period(2025, 4), summary)],
                    allocation=investor_allocation(config, inputs, result),
                    note_interest=note_interest(config, inputs, result),
                    original_balances={"A": 60 * MILLION, "B": 10 * MILLION},
                ),
            )
        summaries.append((Period(2025, month_number), summary))
        state = result.state
    return frame, result, summaries


def test_the_excess_spread_average_is_the_triggers_and_the_trigger_table_points_to_it():
    frame, result, summaries = run_months(trust_config(), [400_000_00, 800_000_00, 1_200_000_00])
    monthly = [
        cell(frame, "excess_spread", "Excess spread", month)
        for month in ("Feb 2025", "Mar 2025", "Apr 2025")
    ]
    assert monthly == [Decimal(s["excess_spread"]) for _, s in summaries]
    average = cell(frame, "excess_spread", "Excess spread", "3-month average")
    assert abs(average - sum(monthly) / 3) < Decimal("1e-12")  # the mean of the three months
    trigger = next(t for t in result.trigger_tests if t.ratio == "excess_spread_3m_avg")
    assert cell(
        frame, "triggers", "3-month average excess spread (see Excess spread)", "Value"
    ) == (average)
    assert abs(Decimal(trigger.value.numerator) / trigger.value.denominator - average) < Decimal(
        "1e-12"
    )


def statement_rows(frame: pl.DataFrame, section: str) -> list[str]:
    rows = frame.filter(pl.col("section") == section).sort("row_order")
    return rows["row"].unique(maintain_order=True).to_list()


def test_statement_steps_read_as_a_priority_of_payments(april):
    assert statement_rows(april, "statement_interest") == [
        "Release of reserve excess to interest funds",
        "Trustee fee",
        "Servicing fee",
        "Class A interest",
        "Class B interest",
        "Investor defaulted amount (to principal funds)",
        "Reimbursement of Class A charge-offs (to principal funds)",
        "Reimbursement of Class B charge-offs (to principal funds)",
        "Reserve account deposit",
        "Excess spread released to the seller",
    ]
    assert statement_rows(april, "statement_principal") == [
        "Principal collections released to the seller"
    ]
    assert cell(april, "statement_interest", "Class A interest", "Paid") == Decimal("250000.00")
    assert cell(april, "statement_interest", "Servicing fee", "Due") == Decimal("116666.67")


def test_triggers_print_threshold_headroom_and_no_pass_over_a_blank(april):
    avg = "3-month average excess spread (see Excess spread)"
    assert cell(april, "triggers", avg, "Value") == "n/a (needs 3 months)"
    assert cell(april, "triggers", avg, "Result") == "n/a (needs 3 months)"
    assert cell(april, "triggers", avg, "Threshold") == Decimal("0E-12")
    seller = "Seller's interest, % of invested amount (see Minimum seller's interest test)"
    assert cell(april, "triggers", seller, "Value") == Decimal("0.414285714286")  # 29 / 70
    assert cell(april, "triggers", seller, "Threshold") == Decimal("0.070000000000")
    # headroom: 41.428571% - 7% above the "below 7%" threshold
    assert cell(april, "triggers", seller, "Headroom") == Decimal("0.344285714286")
    assert cell(april, "triggers", seller, "Result") == "Pass"
    assert cell(april, "triggers", seller, "Breached when") == "below the threshold"
    assert cell(april, "triggers", seller, "Effect") == "Early amortization"


def test_a_money_trigger_is_in_dollars():
    triggers = pl.DataFrame(
        [
            {
                "name": "bb_deficiency",
                "ratio": "borrowing_base_deficiency",
                "op": ">",
                "threshold": "0",
                "value": "2179361.000000000000",
                "breached": True,
                "effect": "early_amortization",
            },
        ]  # fmt: skip
    )
    section = trigger_section(triggers, 130)
    row = "Borrowing base deficiency ($)"
    assert cell(section, "triggers", row, "Value") == Decimal("21793.61")
    assert cell(section, "triggers", row, "Threshold") == Decimal("0.00")
    assert cell(section, "triggers", row, "Headroom") == Decimal("-21793.61")
    assert cell(section, "triggers", row, "Result") == "BREACHED"
    units = set(section.filter(pl.col("column").is_in(["Value", "Threshold"]))["unit"])
    assert units == {"usd"}


def test_a_write_down_shows_as_an_investor_charge_off_due_from_the_next_period():
    # finance charges cover fees and interest but not the whole defaulted amount
    frame, result = figures_of(
        trust_config(reserve_account=None, waterfall=_without_reserve_steps()),
        april_pool(
            finance_charge_collections=800_000_00, recoveries=0, chargeoff_principal=2 * MILLION
        ),
    )
    # investor: 560,000 of finance charges; 2,500 + 116,666.67 + 310,000 paid first;
    # 130,833.33 left of a 1,400,000 defaulted amount: 1,269,166.67 written off class B
    row = "Investor defaulted amount (to principal funds)"
    assert cell(frame, "statement_interest", row, "Due") == Decimal("1400000.00")
    assert cell(frame, "statement_interest", row, "Paid") == Decimal("130833.33")
    assert cell(frame, "statement_interest", row, "Investor charge-off") == Decimal("1269166.67")
    assert cell(frame, "statement_interest", row, "Unpaid") == Decimal("0.00")
    # the reimbursement step owes only earlier periods' write-downs: none
    reimbursed = "Reimbursement of Class B charge-offs (to principal funds)"
    assert cell(frame, "statement_interest", reimbursed, "Due") == Decimal("0.00")
    assert cell(frame, "statement_interest", reimbursed, "Unpaid") == Decimal("0.00")
    assert cell(frame, "notes", "Class B", "Investor charge-offs (written down)") == Decimal(
        "-1269166.67"
    )
    assert cell(frame, "notes", "Class B", "Ending balance") == Decimal("8730833.33")
    assert result.state.unreimbursed_chargeoffs == {"A": 0, "B": 126_916_667}


def _without_reserve_steps() -> dict:
    steps = trust_config().waterfall.model_dump(by_alias=True, exclude_none=True)
    steps["interest"] = [s for s in steps["interest"] if s["pay"] != "reserve_deposit"]
    return steps


def test_the_reserve_foots_with_a_release_shown_once_and_its_target_beside_it():
    # a 1,000,000 reserve against a 700,000 target (1% of 70,000,000): 300,000 released
    frame, _ = figures_of(
        trust_config(
            reserve_account={
                "initial_cents": 1 * MILLION,
                "target": {"pct_of_notes_bps": 100, "floor_cents": 0},
            }
        ),
        april_pool(),
    )
    rows = frame.filter(pl.col("section") == "reserve").sort("row_order")
    assert list(zip(rows["row"], rows["amount"], strict=True)) == [
        ("Beginning balance", Decimal("1000000.00")),
        ("Release of excess over target to interest funds", Decimal("-300000.00")),
        ("Draws to cover shortfalls", Decimal("0.00")),
        ("Deposits", Decimal("0.00")),
        ("Ending balance", Decimal("700000.00")),
        ("Required amount (target)", Decimal("700000.00")),
        ("Ending balance over (under) target", Decimal("0.00")),
    ]


def test_notes_carry_coupon_period_days_payment_date_and_payments_per_1000(april):
    assert cell(april, "note_terms", "Class A", "Rating") == "AAA(sf)"
    assert cell(april, "note_terms", "Class A", "Index") == "Fixed"
    assert cell(april, "note_terms", "Class B", "Coupon") == Decimal("0.072000000000")
    assert cell(april, "note_terms", "Class A", "Day count") == "30/360"
    assert cell(april, "note_terms", "Class A", "Interest period") == "31 Mar 2025 – 30 Apr 2025"
    assert cell(april, "note_terms", "Class A", "Days") == 30
    assert cell(april, "note_terms", "Class A", "Payment date") == "15 May 2025"  # a Thursday
    # 250,000 of interest on 60,000,000 original: 4.166... per $1,000 -> 4.17
    assert cell(april, "notes", "Class A", "Interest per $1,000 original") == Decimal("4.17")
    assert cell(april, "notes", "Class B", "Interest per $1,000 original") == Decimal("6.00")


def test_a_floating_coupon_is_its_fixing_plus_the_margin():
    config = trust_config(
        notes=[
            {
                "class": "A",
                "initial_balance_cents": 60 * MILLION,
                "rate": {"index": "SOFR30A", "margin_bps": 150, "floor_bps": 0},
                "day_count": "ACT/360",
            },
            {
                "class": "B",
                "initial_balance_cents": 10 * MILLION,
                "rate": {"fixed_bps": 720},
                "day_count": "30/360",
            },
        ]  # fmt: skip
    )
    inputs = PeriodInputs(**APRIL, pool=april_pool(), fixings={"SOFR30A": 431})
    result = run_waterfall(config, initial_state(config, APRIL["previous_period_end"]), inputs)
    terms = note_interest(config, inputs, result).to_dicts()[0]
    assert (terms["fixing_bps"], terms["margin_bps"], terms["rate"]) == (
        "431",
        150,
        "0.058100000000",
    )
    assert terms["days"] == 30 and terms["rating"] is None
    # 60,000,000 x 5.81% x 30/360 = 290,500
    assert result.interest_accrued["A"] == 29_050_000


def test_amortization_says_since_when_and_why():
    def state(end: date, status: str) -> VehicleState:
        return VehicleState(end, status, False, {"A": 1}, {"A": 0}, {}, {"A": 0}, 0)

    states = [
        (Period(2025, 2), state(date(2025, 2, 28), "revolving")),
        (Period(2025, 3), state(date(2025, 3, 31), "early_amortization")),
        (Period(2025, 4), state(date(2025, 4, 30), "early_amortization")),
    ]
    assert amortization_onset(states) == Period(2025, 3)
    assert amortization_onset(states[:1]) is None
    period = WaterfallPeriod(
        statement=pl.DataFrame(),
        triggers=pl.DataFrame(),
        opening=states[-1][1],
        closing=states[-1][1],
        summaries=[],
        allocation=pl.DataFrame(),
        note_interest=pl.DataFrame(),
        original_balances={},
        amortization=Amortization(Period(2025, 3), ("excess_spread_3m",)),
    )
    status = status_section(trust_config(), period, 113)
    assert cell(status, "status", "Status", "This period") == "Early amortization"
    assert cell(status, "status", "Amortizing since", "This period") == "Mar 2025"
    assert cell(status, "status", "Caused by", "This period") == (
        "excess_spread_3m (3-month average excess spread below 0.00%)"
    )


def test_the_report_states_data_quality_in_plain_words():
    checks = pl.DataFrame(
        {
            "check": ["snapshot.keys_not_null", "tape.total_is_sum", "pool_balance_change"],
            "severity": ["ERROR", "ERROR", "WARN"],
            "result": ["passed", "passed", "FAILED"],
            "observed": ["0", "0", "41.25"],
            "threshold": ["", "", "40"],
        }
    )
    sections = pl.concat(data_quality_sections(checks, 90))
    assert cell(sections, "data_quality", "Blocking checks passed", "Checks") == 2
    assert cell(sections, "data_quality", "Blocking checks failed", "Checks") == 0
    assert cell(sections, "data_quality", "Warnings raised", "Checks") == 1
    assert cell(sections, "data_quality_warnings", "Warning 1", "What was found") == (
        "The pool's principal balance changed by 41.25% from the previous month; changes of "
        "more than 40% are flagged for review."
    )
    # the full check table is for the operations report, not the investor's
    assert "snapshot.keys_not_null" not in " ".join(sections["text"].drop_nulls().to_list())


@pytest.mark.parametrize("with_trigger", [True, False], ids=["7% minimum", "no minimum configured"])
def test_a_trust_invested_beyond_its_pool_fails_the_seller_interest_test_plainly(with_trigger):
    config = trust_config() if with_trigger else trust_config(triggers=[])
    # invested 70,000,000 against a pool of 60,000,000 (59,000,000 at the end)
    frame, result = figures_of(
        config, april_pool(beginning_principal=60 * MILLION, ending_principal=59 * MILLION)
    )
    test = "Minimum seller's interest"
    assert cell(frame, "seller_interest", test, "Seller's interest") == Decimal("-11000000.00")
    required = Decimal("4900000.00") if with_trigger else Decimal("0.00")
    assert cell(frame, "seller_interest", test, "Required minimum") == required
    assert cell(frame, "seller_interest", test, "Headroom") == Decimal("-11000000.00") - required
    assert cell(frame, "seller_interest", test, "Result") == "FAILED"
    assert cell(frame, "invested", "Seller's interest", "Beginning of period") == Decimal(
        "-10000000.00"
    )
    # the investor share is capped at 100%: the investor cannot own more than the pool
    assert cell(frame, "allocation_percentage", "Investor percentage", "This period") == Decimal(
        "1.000000000000"
    )
    if with_trigger:
        assert result.state.status == "early_amortization"
