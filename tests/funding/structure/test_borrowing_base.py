"""Concentration limits and the borrowing base (funding.md steps 1-5).

Every expected figure below is worked out by hand in the comments; amounts
are cents.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from pydantic import ValidationError

from funding.structure.borrowing_base import (
    BorrowingBaseResult,
    FacilityConfig,
    LimitLine,
    compute_borrowing_base,
)
from funding.structure.eligibility import EligibilityConfig, evaluate_eligibility
from tests.support.snapshot_rows import eligibility_pool

# matches no limit below unless a test overrides a field
PLAIN = {
    "status": "OPEN",
    "days_past_due": 0,
    "flags": "",
    "origination_fico": 800,
    "billing_state": "CA",
    "months_on_book": 24,
    "purchase_apr_bps": 2400,
    "credit_limit_cents": 10_000_000,
    "principal_cents": 10_000,
    "total_cents": 10_000,
}

CRITERIA = [{"code": "NOT_CHARGED_OFF"}, {"code": "NO_FLAGS", "flags": ["FRAUD"]}]
BIG_COMMITMENT = 10**12


def make_pool(rows: list[dict]) -> pl.DataFrame:
    return eligibility_pool(rows, PLAIN)


def config(limits: list[dict], advance_rate_pct: object = 80) -> EligibilityConfig:
    return EligibilityConfig.model_validate(
        {
            "criteria": CRITERIA,
            "concentration_limits": limits,
            "advance_rate_pct": advance_rate_pct,
        }
    )


def facility(commitment_cents: int = BIG_COMMITMENT) -> FacilityConfig:
    return FacilityConfig(commitment_cents=commitment_cents, draw_policy="max_available")


def run(
    pool: pl.DataFrame,
    cfg: EligibilityConfig,
    commitment_cents: int = BIG_COMMITMENT,
    advances_outstanding_cents: int = 0,
) -> BorrowingBaseResult:
    eligibility = evaluate_eligibility(pool, cfg)
    return compute_borrowing_base(
        pool, eligibility, cfg, facility(commitment_cents), advances_outstanding_cents
    )


def excess_by_account(result: BorrowingBaseResult) -> dict[int, tuple[int, str]]:
    """Accounts that took excess -> (amount, limits)."""
    taken = result.allocation.filter(pl.col("excess_concentration_cents") > 0)
    return {
        row["account_id"]: (row["excess_concentration_cents"], row["excess_limits"])
        for row in taken.iter_rows(named=True)
    }


def assert_totals_tie_out(result: BorrowingBaseResult) -> None:
    """The certificate's totals are sums over the per-account table, to the cent."""
    allocation = result.allocation
    eligible = allocation.filter("is_eligible")
    assert result.pool_principal_cents == allocation["principal_cents"].sum()
    assert result.eligible_balance_cents == eligible["principal_cents"].sum()
    assert result.excess_concentration_cents == allocation["excess_concentration_cents"].sum()
    assert allocation.filter(~pl.col("is_eligible"))["excess_concentration_cents"].sum() == 0
    assert result.excess_concentration_cents == sum(line.excess_cents for line in result.limits)


# ---------------------------------------------------------------- hand-computed pools


def test_overlapping_limits_do_not_count_an_excluded_cent_twice():
    # FICO_BELOW 660 max 20%, then MONTHS_ON_BOOK_BELOW 6 max 10%; advance 80%.
    #
    #  id  principal  fico  mob   in FICO bucket  in MOB bucket
    #   1    30_000    600    2        yes            yes
    #   2    20_000    640    3        yes            yes
    #   3    10_000    700    4                       yes
    #   4    10_000    650   24        yes
    #   5-8   5_000 each, 9: 10_000, all fico 800 mob 24
    #  10    40_000    flagged FRAUD -> ineligible
    #  EB = 30_000+20_000+10_000+10_000+4*5_000+10_000 = 100_000
    #
    # FICO_BELOW: bucket {1,2,4} = 60_000; limit 20% x 100_000 = 20_000;
    #   excess 40_000 -> #1 (largest) takes 30_000, #2 takes 10_000 partially;
    #   #4 takes nothing. Remaining: #1 0, #2 10_000, #3 10_000, #4 10_000.
    # MONTHS_ON_BOOK_BELOW: bucket {1,2,3} on what is left = 0+10_000+10_000
    #   = 20_000 (not 60_000); limit 10% = 10_000; excess 10_000 -> #2 and #3
    #   tie at 10_000 remaining, #2 (smaller id) takes all 10_000.
    # ECA = 50_000; net = 50_000; BB = floor(80% x 50_000) = 40_000.
    pool = make_pool(
        [
            {
                "account_id": 1,
                "principal_cents": 30_000,
                "origination_fico": 600,
                "months_on_book": 2,
            },
            {
                "account_id": 2,
                "principal_cents": 20_000,
                "origination_fico": 640,
                "months_on_book": 3,
            },
            {
                "account_id": 3,
                "principal_cents": 10_000,
                "origination_fico": 700,
                "months_on_book": 4,
            },
            {"account_id": 4, "principal_cents": 10_000, "origination_fico": 650},
            *({"account_id": i, "principal_cents": 5_000} for i in (5, 6, 7, 8)),
            {"account_id": 9, "principal_cents": 10_000},
            {"account_id": 10, "principal_cents": 40_000, "flags": "FRAUD"},
        ]
    )
    cfg = config(
        [
            {"code": "FICO_BELOW", "fico": 660, "max_pct": 20},
            {"code": "MONTHS_ON_BOOK_BELOW", "months": 6, "max_pct": 10},
        ]
    )
    result = run(pool, cfg)

    assert result.pool_principal_cents == 140_000
    assert result.eligible_balance_cents == 100_000
    assert result.limits == (
        LimitLine("FICO_BELOW", "", Decimal(20), 60_000, 20_000, 40_000),
        LimitLine("MONTHS_ON_BOOK_BELOW", "", Decimal(10), 20_000, 10_000, 10_000),
    )
    assert result.excess_concentration_cents == 50_000
    assert result.net_eligible_cents == 50_000
    assert result.borrowing_base_cents == 40_000
    assert excess_by_account(result) == {
        1: (30_000, "FICO_BELOW"),
        2: (20_000, "FICO_BELOW;MONTHS_ON_BOOK_BELOW"),
    }
    assert result.limit_allocations.rows() == [
        (1, 1, "FICO_BELOW", "", 30_000),
        (2, 1, "FICO_BELOW", "", 10_000),
        (2, 2, "MONTHS_ON_BOOK_BELOW", "", 10_000),
    ]
    assert_totals_tie_out(result)


def single_state_pool() -> pl.DataFrame:
    return make_pool(
        [
            {"account_id": 1, "billing_state": "CA", "principal_cents": 20_000},
            {"account_id": 2, "billing_state": "CA", "principal_cents": 15_000},
            {"account_id": 3, "billing_state": "CA", "principal_cents": 5_000},
            {"account_id": 4, "billing_state": "TX", "principal_cents": 12_000},
            {"account_id": 5, "billing_state": "TX", "principal_cents": 12_000},
            {"account_id": 6, "billing_state": "TX", "principal_cents": 11_000},
            {"account_id": 7, "billing_state": "NY", "principal_cents": 10_000},
            {"account_id": 8, "billing_state": "NY", "principal_cents": 5_000},
            {"account_id": 9, "billing_state": "FL", "principal_cents": 6_000},
            {"account_id": 10, "billing_state": "FL", "principal_cents": 4_000},
            # ineligible: WA must not get a certificate line
            {"account_id": 11, "billing_state": "WA", "principal_cents": 7_000, "flags": "FRAUD"},
        ]
    )


def test_single_state_with_two_states_over_the_limit():
    # SINGLE_STATE max 30%; advance 85%.
    # EB = CA 40_000 + TX 35_000 + NY 15_000 + FL 10_000 = 100_000
    # limit per state = 30% x 100_000 = 30_000
    #   CA: excess 10_000 -> #1 (20_000, largest) takes 10_000 partially
    #   TX: excess  5_000 -> #4 and #5 tie at 12_000; #4 (smaller id) takes 5_000
    #   NY, FL: under the limit
    # ECA = 15_000; net = 85_000; BB = floor(85% x 85_000) = 72_250
    cfg = config([{"code": "SINGLE_STATE", "max_pct": 30}], advance_rate_pct=85)
    result = run(single_state_pool(), cfg, advances_outstanding_cents=70_000)

    assert result.limits == (
        LimitLine("SINGLE_STATE", "CA", Decimal(30), 40_000, 30_000, 10_000),
        LimitLine("SINGLE_STATE", "FL", Decimal(30), 10_000, 30_000, 0),
        LimitLine("SINGLE_STATE", "NY", Decimal(30), 15_000, 30_000, 0),
        LimitLine("SINGLE_STATE", "TX", Decimal(30), 35_000, 30_000, 5_000),
    )
    assert excess_by_account(result) == {
        1: (10_000, "SINGLE_STATE:CA"),
        4: (5_000, "SINGLE_STATE:TX"),
    }
    assert result.excess_concentration_cents == 15_000
    assert result.net_eligible_cents == 85_000
    assert result.borrowing_base_cents == 72_250
    assert result.availability_cents == 2_250  # 72_250 - 70_000
    assert result.deficiency_cents == 0
    assert [line.bucket for line in result.binding_limits()] == ["CA", "TX"]
    assert_totals_tie_out(result)


def test_certificate_reads_top_to_bottom():
    cfg = config([{"code": "SINGLE_STATE", "max_pct": 30}], advance_rate_pct=85)
    result = run(single_state_pool(), cfg, advances_outstanding_cents=70_000)
    rows = result.certificate_rows()
    pct = Decimal
    # (line_no, line, bucket, pct, bucket amount, limit amount, amount)
    assert rows.rows() == [
        (1, "pool_principal", "", None, None, None, 107_000),
        (2, "ineligible_principal", "", None, None, None, 7_000),
        (3, "eligible_balance", "", None, None, None, 100_000),
        (4, "SINGLE_STATE", "CA", pct(30), 40_000, 30_000, 10_000),
        (5, "SINGLE_STATE", "FL", pct(30), 10_000, 30_000, 0),
        (6, "SINGLE_STATE", "NY", pct(30), 15_000, 30_000, 0),
        (7, "SINGLE_STATE", "TX", pct(30), 35_000, 30_000, 5_000),
        (8, "excess_concentration", "", None, None, None, 15_000),
        (9, "net_eligible_balance", "", None, None, None, 85_000),
        (10, "advance_amount", "", pct(85), None, None, 72_250),
        (11, "commitment", "", None, None, None, BIG_COMMITMENT),
        (12, "borrowing_base", "", None, None, None, 72_250),
        (13, "advances_outstanding", "", None, None, None, 70_000),
        (14, "availability", "", None, None, None, 2_250),
        (15, "deficiency", "", None, None, None, 0),
    ]
    assert rows.columns == [
        "line_no",
        "line",
        "bucket",
        "pct",
        "bucket_amount_cents",
        "limit_amount_cents",
        "amount_cents",
    ]


def test_a_tie_goes_to_the_smaller_account_id_whatever_the_input_order():
    # DPD_AT_LEAST 1 max 10%. EB = 12 accounts:
    #   #9 and #3 delinquent (30 dpd), 25_000 each; ten current 5_000 each
    #   EB = 50_000 + 50_000 = 100_000; limit 10_000; bucket 50_000; excess 40_000
    #   tie at 25_000: #3 takes 25_000 in full, #9 takes the last 15_000
    rows = [
        {"account_id": 9, "days_past_due": 30, "principal_cents": 25_000},
        {"account_id": 3, "days_past_due": 30, "principal_cents": 25_000},
        *({"account_id": 100 + i, "principal_cents": 5_000} for i in range(10)),
    ]
    cfg = config([{"code": "DPD_AT_LEAST", "days": 1, "max_pct": 10}])
    for ordered in (rows, rows[::-1]):
        result = run(make_pool(ordered), cfg)
        assert excess_by_account(result) == {
            3: (25_000, "DPD_AT_LEAST"),
            9: (15_000, "DPD_AT_LEAST"),
        }
        assert result.borrowing_base_cents == 48_000  # 80% x (100_000 - 40_000)


def test_zero_eligible_balance_gives_zero_without_dividing():
    # every account charged off (principal written off to 0): EB 0, all limits 0,
    # no state lines, BB 0; advances still outstanding are all deficiency
    pool = make_pool(
        [
            {"account_id": i, "status": "CHARGED_OFF", "principal_cents": 0, "total_cents": 0}
            for i in range(1, 11)
        ]
    )
    cfg = config(
        [
            {"code": "FICO_BELOW", "fico": 660, "max_pct": 25},
            {"code": "SINGLE_STATE", "max_pct": 20},
            {"code": "APR_ABOVE_BPS", "value": 3000, "max_pct": 10},
        ]
    )
    result = run(pool, cfg, advances_outstanding_cents=5_000)
    assert result.eligible_balance_cents == 0
    assert result.limits == (
        LimitLine("FICO_BELOW", "", Decimal(25), 0, 0, 0),
        LimitLine("APR_ABOVE_BPS", "", Decimal(10), 0, 0, 0),
    )
    assert result.excess_concentration_cents == 0
    assert result.borrowing_base_cents == 0
    assert result.availability_cents == 0
    assert result.deficiency_cents == 5_000
    assert_totals_tie_out(result)


def test_empty_pool():
    cfg = config([{"code": "SINGLE_STATE", "max_pct": 20}])
    result = run(make_pool([]), cfg)
    assert result.borrowing_base_cents == 0
    assert result.allocation.height == 0
    assert result.certificate_rows().height == 11  # no limit lines


def test_commitment_cap_binds():
    # 10 accounts x 100_000 = EB 1_000_000; no limits; 85% -> 850_000;
    # commitment 500_000 caps BB; advances 200_000 -> availability 300_000
    pool = make_pool([{"account_id": i, "principal_cents": 100_000} for i in range(1, 11)])
    result = run(
        pool,
        config([], advance_rate_pct=85),
        commitment_cents=500_000,
        advances_outstanding_cents=200_000,
    )
    assert result.advance_amount_cents == 850_000
    assert result.borrowing_base_cents == 500_000
    assert result.availability_cents == 300_000
    assert result.deficiency_cents == 0


def test_deficiency_after_charge_offs():
    # Period P: 10 accounts x 10_000, EB 100_000, 80% -> BB 80_000; fully drawn.
    # Period P+1: #1-#3 charged off (principal to 0) -> EB 70_000, BB 56_000;
    # advances still 80_000 -> deficiency 24_000, availability 0.
    cfg = config([])
    before = make_pool([{"account_id": i} for i in range(1, 11)])
    drawn = run(before, cfg, advances_outstanding_cents=0).availability_cents
    assert drawn == 80_000

    charged_off = {"status": "CHARGED_OFF", "principal_cents": 0, "total_cents": 0}
    after = make_pool([{"account_id": i, **(charged_off if i <= 3 else {})} for i in range(1, 11)])
    result = run(after, cfg, advances_outstanding_cents=drawn)
    assert result.eligible_balance_cents == 70_000
    assert result.borrowing_base_cents == 56_000
    assert result.deficiency_cents == 24_000
    assert result.availability_cents == 0


def test_limit_amount_rounds_half_up_once_and_advance_floors():
    # EB = 100_004 (one CA account 60_004, one TX 40_000); SINGLE_STATE 12.5%:
    #   limit = 12.5% x 100_004 = 12_500.5 -> 12_501 (half up)
    #   CA excess 60_004 - 12_501 = 47_503; TX excess 40_000 - 12_501 = 27_499
    #   ECA 75_002; net 25_002; 85% x 25_002 = 21_251.7 -> BB 21_251 (floor)
    pool = make_pool(
        [
            {"account_id": 1, "billing_state": "CA", "principal_cents": 60_004},
            {"account_id": 2, "billing_state": "TX", "principal_cents": 40_000},
        ]
    )
    result = run(pool, config([{"code": "SINGLE_STATE", "max_pct": 12.5}], advance_rate_pct=85))
    assert [line.limit_amount_cents for line in result.limits] == [12_501, 12_501]
    assert result.excess_concentration_cents == 75_002
    assert result.borrowing_base_cents == 21_251


def test_credit_balances_only_take_no_excess():
    # no POSITIVE_BALANCE criterion: #2's credit balance is eligible and nets EB
    # EB = 30_000 - 10_000 + 5_000 = 25_000; FICO_BELOW 660 max 20% -> 5_000;
    # bucket {1, 2} = 30_000 - 10_000 = 20_000 -> excess 15_000, all on #1
    pool = make_pool(
        [
            {"account_id": 1, "principal_cents": 30_000, "origination_fico": 600},
            {"account_id": 2, "principal_cents": -10_000, "origination_fico": 610},
            {"account_id": 3, "principal_cents": 5_000},
        ]
    )
    result = run(pool, config([{"code": "FICO_BELOW", "fico": 660, "max_pct": 20}]))
    assert result.eligible_balance_cents == 25_000
    assert excess_by_account(result) == {1: (15_000, "FICO_BELOW")}


def test_missing_fico_counts_as_below():
    # FICO_BELOW 660 max 0%: #1's unknown score is in the bucket, #2's 700 is not
    pool = make_pool(
        [
            {"account_id": 1, "origination_fico": None, "principal_cents": 1_000},
            {"account_id": 2, "origination_fico": 700, "principal_cents": 1_000},
        ]
    )
    result = run(pool, config([{"code": "FICO_BELOW", "fico": 660, "max_pct": 0}]))
    assert excess_by_account(result) == {1: (1_000, "FICO_BELOW")}


# ---------------------------------------------------------------- input errors


def test_eligibility_must_cover_the_pool_exactly():
    pool = make_pool([{"account_id": 1}, {"account_id": 2}])
    cfg = config([])
    partial = evaluate_eligibility(pool, cfg).filter(pl.col("account_id") == 1)
    with pytest.raises(ValueError, match="exactly the pool's accounts"):
        compute_borrowing_base(pool, partial, cfg, facility(), 0)


def test_missing_limit_column_is_named():
    pool = make_pool([{"account_id": 1}])
    cfg = config([{"code": "APR_ABOVE_BPS", "value": 3000, "max_pct": 10}])
    eligibility = evaluate_eligibility(pool, cfg)
    with pytest.raises(ValueError, match="purchase_apr_bps"):
        compute_borrowing_base(pool.drop("purchase_apr_bps"), eligibility, cfg, facility(), 0)


@pytest.mark.parametrize("advances", [1.5, -1, True])
def test_advances_must_be_non_negative_int_cents(advances):
    pool = make_pool([{"account_id": 1}])
    cfg = config([])
    with pytest.raises((TypeError, ValueError)):
        compute_borrowing_base(pool, evaluate_eligibility(pool, cfg), cfg, facility(), advances)


@pytest.mark.parametrize(
    "facility_block",
    [
        {"commitment_cents": -1, "draw_policy": "max_available"},
        {"commitment_cents": 1.5e11, "draw_policy": "max_available"},
        {"commitment_cents": 100, "draw_policy": "fixed"},
        {"commitment_cents": 100, "draw_policy": "max_available", "margin": 1},
    ],
)
def test_bad_facility_config_is_an_error(facility_block):
    with pytest.raises(ValidationError):
        FacilityConfig.model_validate(facility_block)


# ---------------------------------------------------------------- properties

STATES = ("CA", "TX", "NY", "FL")

account_rows = st.lists(
    st.fixed_dictionaries(
        {
            "status": st.sampled_from(["OPEN", "OPEN", "CLOSED", "CHARGED_OFF"]),
            "days_past_due": st.integers(0, 120),
            "flags": st.sampled_from(["", "", "", "FRAUD", "HARDSHIP"]),
            "origination_fico": st.none() | st.integers(550, 850),
            "billing_state": st.sampled_from(STATES),
            "months_on_book": st.integers(0, 40),
            "purchase_apr_bps": st.none() | st.integers(1_500, 3_900),
            "principal_cents": st.integers(-5_000, 2_000_000),
        }
    ),
    max_size=25,
)

pcts = st.integers(0, 1000).map(lambda tenths: Decimal(tenths).scaleb(-1))  # 0.0 .. 100.0

limit_blocks = st.lists(
    st.sampled_from(
        [
            {"code": "FICO_BELOW", "fico": 660},
            {"code": "SINGLE_STATE"},
            {"code": "MONTHS_ON_BOOK_BELOW", "months": 6},
            {"code": "DPD_AT_LEAST", "days": 1},
            {"code": "APR_ABOVE_BPS", "value": 3000},
        ]
    ),
    unique_by=lambda block: block["code"],
    max_size=5,
).flatmap(lambda blocks: st.tuples(*(pcts.map(lambda p, b=b: {**b, "max_pct": p}) for b in blocks)))


@st.composite
def scenarios(draw):
    rows = draw(account_rows)
    ids = draw(st.lists(st.integers(1, 10**6), min_size=len(rows), max_size=len(rows), unique=True))
    pool = make_pool([{**row, "account_id": i} for row, i in zip(rows, ids, strict=True)])
    criteria = [*CRITERIA, *([{"code": "POSITIVE_BALANCE"}] if draw(st.booleans()) else [])]
    cfg = EligibilityConfig.model_validate(
        {
            "criteria": criteria,
            "concentration_limits": list(draw(limit_blocks)),
            "advance_rate_pct": draw(pcts),
        }
    )
    commitment = draw(st.integers(0, 30_000_000))
    advances = draw(st.integers(0, 30_000_000))
    return pool, cfg, commitment, advances


def compute(pool, cfg, commitment, advances) -> BorrowingBaseResult:
    return run(pool, cfg, commitment_cents=commitment, advances_outstanding_cents=advances)


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_eca_never_exceeds_eb(scenario):
    result = compute(*scenario)
    eligible = result.allocation.filter("is_eligible")["principal_cents"]
    assert 0 <= result.excess_concentration_cents <= eligible.clip(lower_bound=0).sum()
    if eligible.min() is None or eligible.min() >= 0:
        assert result.excess_concentration_cents <= result.eligible_balance_cents
    assert_totals_tie_out(result)


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_bb_within_commitment_and_advance_rate_of_eb(scenario):
    result = compute(*scenario)
    cap = Fraction(result.advance_rate_pct) * result.eligible_balance_cents / 100
    assert 0 <= result.borrowing_base_cents <= result.commitment_cents
    assert result.borrowing_base_cents <= max(0, cap)
    assert result.availability_cents * result.deficiency_cents == 0
    position = result.borrowing_base_cents - result.advances_outstanding_cents
    assert result.availability_cents - result.deficiency_cents == position


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_each_limits_allocation_sums_to_its_excess(scenario):
    result = compute(*scenario)
    allocated: dict[tuple[str, str], int] = defaultdict(int)
    for row in result.limit_allocations.iter_rows(named=True):
        allocated[(row["code"], row["bucket"])] += row["excess_cents"]
    for line in result.limits:
        assert allocated.pop((line.code, line.bucket), 0) == line.excess_cents
    assert not allocated  # nothing allocated outside a certificate line
    # no account gives up more than its balance
    over = result.allocation.filter(
        pl.col("excess_concentration_cents") > pl.col("principal_cents").clip(lower_bound=0)
    )
    assert over.height == 0


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_row_order(scenario, random):
    pool, cfg, commitment, advances = scenario
    order = list(range(pool.height))
    random.shuffle(order)
    shuffled = pool[order]
    first = compute(pool, cfg, commitment, advances)
    second = compute(shuffled, cfg, commitment, advances)
    assert_frame_equal(first.certificate_rows(), second.certificate_rows())
    assert_frame_equal(first.allocation, second.allocation)
    assert_frame_equal(first.limit_allocations, second.limit_allocations)
    assert first.limits == second.limits
