"""Eligibility config validation and per-account eligibility (funding.md)."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal
from pydantic import ValidationError

from funding.structure.eligibility import EligibilityConfig, evaluate_eligibility
from tests.support.snapshot_rows import eligibility_pool

SPEC_CONFIG = """
criteria:
  - {code: NOT_CHARGED_OFF}
  - {code: MAX_DPD, days: 30}
  - {code: NO_FLAGS, flags: [BANKRUPTCY, FRAUD, DECEASED, DISPUTE]}
  - {code: MIN_ORIGINATION_FICO, value: 620}
  - {code: EXCLUDED_STATES, states: [IA, WV]}
  - {code: MIN_MONTHS_ON_BOOK, months: 3}
  - {code: MAX_APR_BPS, value: 3600}
  - {code: POSITIVE_BALANCE}
  - {code: MAX_UTILIZATION_PCT, value: 110}
concentration_limits:
  - {code: FICO_BELOW, fico: 660, max_pct: 25}
  - {code: SINGLE_STATE, max_pct: 20}
  - {code: MONTHS_ON_BOOK_BELOW, months: 6, max_pct: 15}
  - {code: DPD_AT_LEAST, days: 1, max_pct: 5}
  - {code: APR_ABOVE_BPS, value: 3000, max_pct: 10}
advance_rate_pct: 85
"""


# a clean account: passes every criterion of SPEC_CONFIG
CLEAN = {
    "status": "OPEN",
    "days_past_due": 0,
    "flags": "",
    "origination_fico": 720,
    "billing_state": "CA",
    "months_on_book": 24,
    "purchase_apr_bps": 2400,
    "credit_limit_cents": 100_000,
    "principal_cents": 50_000,
    "total_cents": 55_000,
}


def make_pool(rows: list[dict]) -> pl.DataFrame:
    """Snapshot-typed pool rows: each row is CLEAN with its own overrides."""
    return eligibility_pool(rows, CLEAN)


def spec_config(**overrides: object) -> EligibilityConfig:
    return EligibilityConfig.model_validate({**yaml.safe_load(SPEC_CONFIG), **overrides})


# ---------------------------------------------------------------- config


def test_spec_example_loads_with_exact_percentages():
    config = spec_config()
    assert [c.code for c in config.criteria][:2] == ["NOT_CHARGED_OFF", "MAX_DPD"]
    assert config.concentration_limits[1].code == "SINGLE_STATE"
    assert config.advance_rate_pct == Decimal(85)


@pytest.mark.parametrize("written", ["12.5", 12.5, Decimal("12.5")])
def test_pct_stays_exact_decimal(written):
    # YAML `max_pct: 12.5` arrives as a float; it must not become 12.4999...
    limits = [{"code": "SINGLE_STATE", "max_pct": written}]
    config = spec_config(concentration_limits=limits, advance_rate_pct="87.25")
    pct = config.concentration_limits[0].max_pct
    assert isinstance(pct, Decimal) and pct == Decimal("12.5")
    assert config.advance_rate_pct == Decimal("87.25")


def test_yaml_float_pct_is_read_as_written():
    config = spec_config(**yaml.safe_load("advance_rate_pct: 33.33"))
    assert config.advance_rate_pct == Decimal("33.33")


def test_unknown_criterion_code_names_it_and_lists_the_known_ones():
    criteria = [{"code": "NOT_CHARGED_OFF"}, {"code": "MAX_LTV", "value": 80}]
    with pytest.raises(ValidationError) as error:
        spec_config(criteria=criteria)
    message = str(error.value)
    assert "MAX_LTV" in message
    assert "criteria.1" in message
    for known in ("NOT_CHARGED_OFF", "MAX_UTILIZATION_PCT", "POSITIVE_BALANCE"):
        assert known in message


def test_unknown_limit_code_names_it():
    with pytest.raises(ValidationError, match="OBLIGOR_SIZE"):
        spec_config(concentration_limits=[{"code": "OBLIGOR_SIZE", "max_pct": 1}])


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"criteria": [{"code": "NO_FLAGS", "flags": ["FRAUD", "LOST_CARD"]}]}, "LOST_CARD"),
        ({"criteria": [{"code": "NO_FLAGS", "flags": []}]}, "at least 1"),
        ({"criteria": [{"code": "EXCLUDED_STATES", "states": ["ia"]}]}, "pattern"),
        ({"criteria": [{"code": "EXCLUDED_STATES", "states": ["IOW"]}]}, "pattern"),
        ({"criteria": [{"code": "MAX_DPD"}]}, "days"),
        ({"criteria": [{"code": "MAX_DPD", "days": -1}]}, "greater than or equal"),
        ({"criteria": [{"code": "MAX_DPD", "days": "30"}]}, "integer"),
        ({"criteria": [{"code": "MAX_DPD", "days": 30, "grace": 5}]}, "grace"),
        ({"criteria": [{"code": "MIN_ORIGINATION_FICO", "value": 900}]}, "850"),
        ({"criteria": [{"code": "MAX_UTILIZATION_PCT", "value": -1}]}, "greater than"),
        ({"criteria": [{"code": "MAX_DPD", "days": 30}, {"code": "MAX_DPD", "days": 60}]}, "once"),
        ({"concentration_limits": [{"code": "SINGLE_STATE", "max_pct": 101}]}, "100"),
        ({"concentration_limits": [{"code": "SINGLE_STATE", "max_pct": "-0.5"}]}, "0"),
        ({"concentration_limits": [{"code": "SINGLE_STATE", "max_pct": True}]}, "boolean"),
        ({"concentration_limits": [{"code": "SINGLE_STATE", "max_pct": "abc"}]}, "decimal"),
        ({"concentration_limits": [{"code": "SINGLE_STATE", "max_pct": "NaN"}]}, "finite"),
        ({"concentration_limits": [{"code": "FICO_BELOW", "max_pct": 25}]}, "fico"),
        ({"advance_rate_pct": 100.5}, "100"),
        ({"haircut_pct": 5}, "haircut_pct"),
    ],
)
def test_bad_config_is_an_error_naming_the_problem(overrides, problem):
    with pytest.raises(ValidationError, match=problem):
        spec_config(**overrides)


def test_utilization_pct_may_exceed_100():
    config = spec_config(criteria=[{"code": "MAX_UTILIZATION_PCT", "value": "112.5"}])
    assert config.criteria[0].value == Decimal("112.5")


def test_config_is_immutable():
    config = spec_config()
    with pytest.raises(ValidationError):
        config.advance_rate_pct = Decimal(90)


# ---------------------------------------------------------------- evaluation

# (overrides, expected reasons) under SPEC_CONFIG; credit limit 100_000 cents
CASES = [
    ({}, ""),
    ({"days_past_due": 30}, ""),  # MAX_DPD is inclusive
    ({"days_past_due": 31}, "MAX_DPD"),
    ({"flags": "HARDSHIP;SCRA"}, ""),  # flags not listed do not exclude
    ({"flags": "DISPUTE;HARDSHIP"}, "NO_FLAGS"),
    ({"origination_fico": 620}, ""),  # MIN_ORIGINATION_FICO is inclusive
    ({"origination_fico": None}, "MIN_ORIGINATION_FICO"),  # missing score fails
    ({"billing_state": "WV"}, "EXCLUDED_STATES"),
    ({"months_on_book": 3}, ""),
    ({"months_on_book": 2}, "MIN_MONTHS_ON_BOOK"),
    ({"purchase_apr_bps": 3600}, ""),  # MAX_APR_BPS is inclusive
    ({"purchase_apr_bps": None}, "MAX_APR_BPS"),  # missing APR fails
    ({"principal_cents": 0, "total_cents": 900}, "POSITIVE_BALANCE"),
    ({"total_cents": 110_000}, ""),  # 110% exactly passes
    ({"total_cents": 110_001}, "MAX_UTILIZATION_PCT"),
    ({"credit_limit_cents": 0}, "MAX_UTILIZATION_PCT"),  # zero limit with a balance
    ({"credit_limit_cents": None}, "MAX_UTILIZATION_PCT"),  # no limit with a balance
    # three at once, reported in config order, not the order they are noticed
    (
        {"months_on_book": 1, "billing_state": "IA", "days_past_due": 45},
        "MAX_DPD;EXCLUDED_STATES;MIN_MONTHS_ON_BOOK",
    ),
    # a charge-off leaves principal at zero; its DPD and score fail too
    (
        {
            "status": "CHARGED_OFF",
            "days_past_due": 185,
            "origination_fico": 580,
            "principal_cents": 0,
            "total_cents": 0,
        },
        "NOT_CHARGED_OFF;MAX_DPD;MIN_ORIGINATION_FICO;POSITIVE_BALANCE",
    ),
]


def test_every_failing_reason_in_config_order():
    # account ids descend so that the sorted output order is also checked
    ids = [100 - n for n in range(len(CASES))]
    pool = make_pool([{"account_id": i, **row} for i, (row, _) in zip(ids, CASES, strict=True)])
    expected = pl.DataFrame(
        {
            "account_id": ids,
            "is_eligible": [reasons == "" for _, reasons in CASES],
            "ineligibility_reasons": [reasons for _, reasons in CASES],
        }
    ).sort("account_id")
    assert_frame_equal(evaluate_eligibility(pool, spec_config()), expected)


def test_reasons_follow_the_configured_order():
    criteria = [
        {"code": "MIN_MONTHS_ON_BOOK", "months": 3},
        {"code": "MAX_DPD", "days": 30},
    ]
    pool = make_pool([{"account_id": 1, "months_on_book": 0, "days_past_due": 90}])
    result = evaluate_eligibility(pool, spec_config(criteria=criteria))
    assert result["ineligibility_reasons"].to_list() == ["MIN_MONTHS_ON_BOOK;MAX_DPD"]


def test_utilization_with_a_fractional_pct_is_exact():
    # 112.5% of 1_000 cents = 1_125 cents: 1_125 passes, 1_126 fails
    config = spec_config(criteria=[{"code": "MAX_UTILIZATION_PCT", "value": 112.5}])
    pool = make_pool(
        [
            {"account_id": 1, "credit_limit_cents": 1_000, "total_cents": 1_125},
            {"account_id": 2, "credit_limit_cents": 1_000, "total_cents": 1_126},
            # no limit and no balance (or a credit balance): nothing is utilised
            {"account_id": 3, "credit_limit_cents": None, "total_cents": 0},
            {"account_id": 4, "credit_limit_cents": 0, "total_cents": -500},
        ]
    )
    result = evaluate_eligibility(pool, config)
    assert result["is_eligible"].to_list() == [True, False, True, True]


def test_no_criteria_means_everything_is_eligible():
    pool = make_pool([{"account_id": 1, "status": "CHARGED_OFF"}])
    result = evaluate_eligibility(pool, spec_config(criteria=[]))
    assert result.row(0) == (1, True, "")


def test_empty_pool_gives_an_empty_typed_frame():
    result = evaluate_eligibility(make_pool([]), spec_config())
    assert result.schema == pl.Schema(
        {"account_id": pl.Int64, "is_eligible": pl.Boolean, "ineligibility_reasons": pl.String}
    )
    assert result.height == 0


def test_missing_column_is_named():
    pool = make_pool([{"account_id": 1}]).drop("purchase_apr_bps")
    with pytest.raises(ValueError, match="purchase_apr_bps"):
        evaluate_eligibility(pool, spec_config())


def test_more_than_one_row_per_account_is_refused():
    pool = make_pool([{"account_id": 1}, {"account_id": 1}])
    with pytest.raises(ValueError, match="one row per account"):
        evaluate_eligibility(pool, spec_config())
