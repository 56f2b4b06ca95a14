"""`compute_ratios` and the ratio config models.

Acceptance cases are monthly reports filed with the SEC: the inputs are the
printed amounts, the expected values the printed percentages, checked to the
places printed. Every case names its source.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import yaml

from funding.ledger.snapshot import DPD_BUCKETS, MEASURES
from funding.performance.ratios import (
    DEFAULT_RATIO_SCHEDULE,
    POOL_MEASURE_NAMES,
    VEHICLE_MEASURE_NAMES,
    RatioSchedule,
    compute_ratios,
    ratio_definitions_for,
)

D = Decimal


def measure_ratio(numerator: list[str], denominator: str, annualize: str) -> dict[str, Any]:
    return {"numerator": numerator, "denominator": denominator, "annualize": annualize}


def as_printed(value: Decimal, printed: str) -> Decimal:
    """A fraction as a percentage, rounded half up to the places `printed` shows."""
    return (value * 100).quantize(D(printed), rounding=ROUND_HALF_UP)


# --------------------------------------------------------------- public reports

PARTNERS_FIRST_2002_08 = (
    "metrics.md; Partners First Credit Card Master Trust, Monthly Trust Activity, "
    "Exhibit 20.2, SEC accession 0001021408-02-011055 (31 days)"
)
PARTNERS_FIRST_2003_01 = (
    "Partners First Credit Card Master Trust, Monthly Trust Activity, Exhibit 20.2, "
    "SEC accession 0001021408-03-003068 (31 days)"
)
PARTNERS_FIRST_2003_01_SPREAD = (
    "Partners First Credit Card Master Trust, Excess Spread Analysis January 2003, "
    "Exhibit 20.1, SEC accession 0001021408-03-003068"
)
AMEX_2007_04 = (
    "metrics.md; American Express Credit Account Master Trust, Mar 27 - Apr 25 2007 (30 days)"
)
MASTER_TRUST_II_2002_12 = (
    "Master Trust II monthly report to 16 Dec 2002, Exhibit 99.3, "
    "SEC CIK 1000112, accession 0000950168-02-003785"
)
CIK_1174821_2002_12 = (
    "Credit card trust excess spread table Dec-02/Nov-02/Oct-02, Exhibit 99.1, "
    "SEC CIK 1174821, accession 0000950109-03-000112"
)

# Partners First: payment rate = (finance charge collections excluding
# interchange + principal collections) / beginning total; default = net
# defaulted x 12 / beginning principal; gross yield = (finance charge +
# interchange) x 12 / beginning principal.
PARTNERS_FIRST_DEFINITIONS = {
    "payment_rate": measure_ratio(
        ["finance_charge_collections", "principal_collections"], "beginning_total", "none"
    ),
    "annualized_default_rate": measure_ratio(
        ["net_defaulted_amount"], "beginning_principal", "x12"
    ),
    "gross_yield": measure_ratio(
        ["finance_charge_collections", "interchange"], "beginning_principal", "x12"
    ),
}

# Amex: default rate on *ending* principal, act/365; yield net of defaults.
AMEX_DEFINITIONS = {
    "payment_rate": measure_ratio(["principal_collections"], "beginning_principal", "none"),
    "annualized_default_rate": measure_ratio(["defaulted_amount"], "ending_principal", "act/365"),
    "portfolio_yield": measure_ratio(
        ["finance_charge_collections", "-defaulted_amount"], "beginning_principal", "act/365"
    ),
}

MASTER_TRUST_II_DEFINITIONS = {
    "principal_payment_rate": measure_ratio(
        ["principal_collections"], "beginning_principal", "none"
    ),
    "annualized_default_percentage": measure_ratio(
        ["defaulted_amount"], "beginning_principal", "x12"
    ),
    "delinquent_percentage": measure_ratio(
        ["delinquent_30_59", "delinquent_60_89", "delinquent_90_plus"], "ending_total", "none"
    ),
}

# Excess spread tables print rates, not amounts: the rates go in as measures
# in basis points over 10,000, so yield and base rate are ratios like any
# other and excess spread is their `difference`. The 3-month average is
# listed first on purpose: evaluation follows dependencies, not mapping order.
EXCESS_SPREAD_DEFINITIONS = {
    "excess_spread_3m_avg": {"average_of_last": 3, "ratio": "excess_spread"},
    "excess_spread": {"difference": ["yield", "base_rate"]},
    "yield": measure_ratio(["yield_bps"], "bps_per_unit", "none"),
    "base_rate": measure_ratio(
        ["coupon_bps", "servicing_fee_bps", "net_credit_losses_bps"], "bps_per_unit", "none"
    ),
}

# (source, measures, days in period, definitions, history, [(ratio, printed %)])
PUBLIC_REPORTS = [
    (
        PARTNERS_FIRST_2002_08,
        {
            "beginning_principal": D("1406943421.65"),
            "beginning_total": D("1448379735.60"),
            "finance_charge_collections": D("17629080.94"),
            "interchange": D("3474485.41"),
            "principal_collections": D("112779331.76"),
            "recoveries": D("783602.09"),
            "net_defaulted_amount": D("10107859.80"),
        },
        31,
        PARTNERS_FIRST_DEFINITIONS,
        (),
        [
            ("payment_rate", "9.00"),
            ("payment_rate", "9.0037"),
            ("annualized_default_rate", "8.62"),
            ("gross_yield", "18.00"),
            ("gross_yield", "17.9995"),
        ],
    ),
    (
        AMEX_2007_04,
        {
            "beginning_principal": D("31977851351.48"),
            "finance_charge_collections": D("593351357.53"),
            "principal_collections": D("7997785640.63"),
            "defaulted_amount": D("105915534.09"),
            "ending_principal": D("32341093334.12"),
        },
        30,
        AMEX_DEFINITIONS,
        (),
        [
            ("payment_rate", "25.0104"),
            ("annualized_default_rate", "3.9845"),
            ("portfolio_yield", "18.5456"),
        ],
    ),
    (
        PARTNERS_FIRST_2003_01,
        {
            "beginning_principal": D("1357768793.01"),
            "beginning_total": D("1394779043.13"),
            "finance_charge_collections": D("15920564.71"),
            "interchange": D("3016564.33"),
            "principal_collections": D("116591018.70"),
            "net_defaulted_amount": D("9746894.38"),
        },
        31,
        PARTNERS_FIRST_DEFINITIONS,
        (),
        [
            ("payment_rate", "9.50"),
            ("annualized_default_rate", "8.61"),
            ("gross_yield", "16.74"),
        ],
    ),
    (
        MASTER_TRUST_II_2002_12,
        {
            "beginning_principal": D("2565112351.55"),
            "ending_total": D("2695410960.90"),
            "principal_collections": D("265373653.81"),
            "defaulted_amount": D("16005714.61"),
            "delinquent_30_59": D("60566499.34"),
            "delinquent_60_89": D("44213930.21"),
            "delinquent_90_plus": D("87225545.51"),
        },
        31,
        MASTER_TRUST_II_DEFINITIONS,
        (),
        [
            ("principal_payment_rate", "10.35"),
            ("annualized_default_percentage", "7.49"),
            ("delinquent_percentage", "7.12"),
        ],
    ),
    (
        PARTNERS_FIRST_2003_01_SPREAD,
        {
            "yield_bps": 974,
            "coupon_bps": 145,
            "servicing_fee_bps": 91,
            "net_credit_losses_bps": 465,
            "bps_per_unit": 10_000,
        },
        31,
        EXCESS_SPREAD_DEFINITIONS,
        # November-02 and December-02 excess spread, most recent last
        ({"excess_spread": D("0.0336")}, {"excess_spread": D("0.0391")}),
        [("excess_spread", "2.73"), ("excess_spread_3m_avg", "3.33")],
    ),
    (
        CIK_1174821_2002_12,
        {
            "yield_bps": 1656,
            "coupon_bps": 252,
            "servicing_fee_bps": 150,
            "net_credit_losses_bps": 572,
            "bps_per_unit": 10_000,
        },
        31,
        EXCESS_SPREAD_DEFINITIONS,
        # Oct-02 and Nov-02 excess spread, most recent last
        ({"excess_spread": D("0.0655")}, {"excess_spread": D("0.0497")}),
        [("excess_spread", "6.82"), ("excess_spread_3m_avg", "6.11")],
    ),
]


@pytest.mark.parametrize(
    ("source", "measures", "days", "definitions", "history", "printed"),
    PUBLIC_REPORTS,
    ids=[case[0].split(",")[0] + f" [{i}]" for i, case in enumerate(PUBLIC_REPORTS)],
)
def test_public_report_figures_reproduce(source, measures, days, definitions, history, printed):
    ratios = compute_ratios(measures, days, definitions, history=history)
    for name, percent in printed:
        assert as_printed(ratios[name], percent) == D(percent), f"{source}: {name}"


def test_ratios_are_unrounded_fractions_not_percentages():
    source, measures, days, definitions, _, _ = PUBLIC_REPORTS[0]
    payment_rate = compute_ratios(measures, days, definitions)["payment_rate"]
    assert isinstance(payment_rate, Decimal)
    assert D("0.09") < payment_rate < D("0.0901"), source
    assert len(payment_rate.as_tuple().digits) == 34  # full precision, rounded only for display


# ------------------------------------------------------------- evaluator rules

RATE = {"rate": measure_ratio(["a"], "b", "none")}


@pytest.mark.parametrize(
    ("numerator", "expected"),
    [
        (["a"], D("0.3")),
        (["a", "c"], D("0.5")),
        (["a", "-c"], D("0.1")),
        (["-a", "-c"], D("-0.5")),
    ],
    ids=["single", "sum", "signed", "all-negative"],
)
def test_signed_numerator(numerator, expected):
    measures = {"a": 30, "b": 100, "c": 20}
    definitions = {"r": measure_ratio(numerator, "b", "none")}
    assert compute_ratios(measures, 30, definitions) == {"r": expected}


@pytest.mark.parametrize("zero", [0, D("0"), D("0.00"), D("-0")])
def test_zero_denominator_gives_null(zero):
    assert compute_ratios({"a": 5, "b": zero}, 30, RATE) == {"rate": None}


@pytest.mark.parametrize(
    ("annualize", "days", "expected"),
    [
        ("none", 31, D("0.031")),
        ("x12", 31, D("0.372")),
        ("act/365", 31, D("0.365")),
        ("act/360", 31, D("0.36")),
        # 31 x 365 / (1000 x 28) repeats: rounded once, at the 34th digit
        ("act/365", 28, D("0.4041071428571428571428571428571429")),
        ("act/360", 30, D("0.372")),
    ],
)
def test_annualization(annualize, days, expected):
    definitions = {"r": measure_ratio(["a"], "b", annualize)}
    assert compute_ratios({"a": 31, "b": 1000}, days, definitions) == {"r": expected}


def test_difference_of_ratios_and_of_a_measure():
    definitions = {
        "spread": {"difference": ["yield", "base_rate"]},
        "yield": measure_ratio(["a"], "b", "none"),
        "over_floor": {"difference": ["yield", "floor"]},
    }
    measures = {"a": 18, "b": 100, "base_rate": D("0.05"), "floor": D("0.20")}
    result = compute_ratios(measures, 30, definitions)
    assert result == {"spread": D("0.13"), "yield": D("0.18"), "over_floor": D("-0.02")}


def test_difference_is_null_when_either_side_is_null():
    definitions = {
        "spread": {"difference": ["yield", "base_rate"]},
        "yield": measure_ratio(["a"], "b", "none"),
    }
    measures = {"a": 18, "b": 0, "base_rate": D("0.05")}
    assert compute_ratios(measures, 30, definitions) == {"spread": None, "yield": None}


AVG = {
    "rate_3m": {"average_of_last": 3, "ratio": "rate"},
    "rate": measure_ratio(["a"], "b", "none"),
}


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ((), None),
        (({"rate": D("0.2")},), None),
        (({"rate": D("0.2")}, {"rate": D("0.4")}), D("0.3")),
        (({"rate": None}, {"rate": D("0.2")}, {"rate": D("0.4")}), D("0.3")),
        (({"rate": D("0.2")}, {"rate": None}), None),
        (({"rate": D("0.2")}, {}), None),
        (({"rate": D("0.9")}, {"rate": D("0.1")}, {"rate": D("0.2")}), D("0.2")),
    ],
    ids=[
        "first-period",
        "two-values",
        "three-values",
        "older-null-ignored",
        "null-in-window",
        "missing-in-window",
        "most-recent-last",
    ],
)
def test_average_of_last_needs_three_values(history, expected):
    result = compute_ratios({"a": 3, "b": 10}, 30, AVG, history=history)
    assert result == {"rate_3m": expected, "rate": D("0.3")}


def test_average_is_null_when_this_period_is_null():
    history = ({"rate": D("0.2")}, {"rate": D("0.4")})
    result = compute_ratios({"a": 3, "b": 0}, 30, AVG, history=history)
    assert result == {"rate_3m": None, "rate": None}


def test_dependency_order_not_mapping_order():
    definitions = {
        "c": {"difference": ["b", "a"]},
        "b": {"difference": ["a", "x"]},
        "a": measure_ratio(["n"], "d", "none"),
    }
    result = compute_ratios({"n": 1, "d": 4, "x": D("0.05")}, 30, definitions)
    assert list(result) == ["c", "b", "a"]
    assert result == {"c": D("-0.05"), "b": D("0.20"), "a": D("0.25")}


@pytest.mark.parametrize(
    ("definitions", "ratio", "detail"),
    [
        ({"a": {"difference": ["b", "x"]}, "b": {"difference": ["a", "x"]}}, "'a'", "cycle"),
        ({"a": {"average_of_last": 3, "ratio": "a"}}, "'a'", "cycle"),
        ({"s": {"difference": ["nope", "x"]}}, "'s'", "'nope'"),
        ({"s": {"average_of_last": 3, "ratio": "x"}}, "'s'", "'x'"),
        ({"r": measure_ratio(["missing"], "x", "none")}, "'r'", "'missing'"),
        ({"r": measure_ratio(["x"], "missing", "none")}, "'r'", "'missing'"),
        ({"r": measure_ratio(["x"], "x", "x13")}, "r", "x13"),
        ({"r": {"numerator": ["x"], "denominator": "x"}}, "r", "annualize"),
        ({"r": {"divide": ["x", "x"]}}, "r", "unknown ratio definition shape"),
    ],
    ids=[
        "cycle",
        "self-average",
        "unknown-difference",
        "average-of-a-measure",
        "missing-numerator",
        "missing-denominator",
        "unknown-annualize",
        "no-annualize",
        "unknown-shape",
    ],
)
def test_bad_definitions_are_errors_naming_the_ratio(definitions, ratio, detail):
    with pytest.raises(ValueError) as info:
        compute_ratios({"x": 1}, 30, definitions)
    assert ratio in str(info.value)
    assert detail in str(info.value)


@pytest.mark.parametrize("bad", [0.5, True, None, "10"])
def test_measures_must_be_int_or_decimal(bad):
    with pytest.raises(TypeError, match="'a'"):
        compute_ratios({"a": bad, "b": 10}, 30, RATE)


@pytest.mark.parametrize("days", [0, -30])
def test_days_in_period_must_be_positive(days):
    with pytest.raises(ValueError, match="days_in_period"):
        compute_ratios({"a": 1, "b": 10}, days, RATE)


# ------------------------------------------------------------- config models


def schedule_from_yaml(text: str) -> RatioSchedule:
    return RatioSchedule.model_validate(yaml.safe_load(text))


GOOD_ENTRY = """
effective_from: 2020-01-31
definitions:
  payment_rate: {numerator: [principal_collections, finance_charge_collections], denominator: beginning_total, annualize: none}
  net_chargeoff_rate: {numerator: [chargeoff_principal, -recoveries], denominator: beginning_principal, annualize: x12}
  excess_spread: {numerator: [available_interest_funds, -fees_due, -note_interest_due, -defaulted_amount], denominator: invested_amount, annualize: x12}
  excess_spread_3m_avg: {average_of_last: 3, ratio: excess_spread}
  spread_over_chargeoffs: {difference: [excess_spread, net_chargeoff_rate]}
"""  # noqa: E501 - one ratio per line, as a vehicle file writes it


def test_good_entry_loads_with_pool_and_vehicle_measures():
    schedule = schedule_from_yaml(GOOD_ENTRY)
    assert schedule.effective_from == date(2020, 1, 31)
    assert list(schedule.definitions) == [
        "payment_rate",
        "net_chargeoff_rate",
        "excess_spread",
        "excess_spread_3m_avg",
        "spread_over_chargeoffs",
    ]


BAD_ENTRIES = [
    (
        "typo-in-measure",
        GOOD_ENTRY.replace("[principal_collections,", "[principal_colections,"),
        ["payment_rate", "numerator", "principal_colections", "did you mean"],
    ),
    (
        "denominator-is-a-list",
        GOOD_ENTRY.replace(
            "denominator: beginning_total", "denominator: [beginning_total, ending_total]"
        ),
        ["payment_rate", "denominator", "one measure name"],
    ),
    (
        "denominator-is-a-ratio",
        GOOD_ENTRY.replace("denominator: invested_amount", "denominator: payment_rate"),
        ["excess_spread", "denominator", "'payment_rate' is a ratio"],
    ),
    (
        "numerator-is-a-ratio",
        GOOD_ENTRY.replace("[chargeoff_principal, -recoveries]", "[payment_rate]"),
        ["net_chargeoff_rate", "numerator", "'payment_rate' is a ratio"],
    ),
    (
        "unknown-annualize",
        GOOD_ENTRY.replace("annualize: x12}\n  excess", "annualize: x13}\n  excess"),
        ["net_chargeoff_rate", "annualize", "x13"],
    ),
    (
        "unknown-shape",
        GOOD_ENTRY.replace("{difference:", "{minus:"),
        ["spread_over_chargeoffs", "unknown ratio definition shape", "minus"],
    ),
    (
        "extra-key",
        GOOD_ENTRY.replace("annualize: none}", "annualize: none, round: 4}"),
        ["payment_rate", "round"],
    ),
    (
        "unknown-difference-operand",
        GOOD_ENTRY.replace("[excess_spread, net_chargeoff_rate]", "[excess_spread, base_rate]"),
        ["spread_over_chargeoffs", "'base_rate'"],
    ),
    (
        "average-of-unknown-ratio",
        GOOD_ENTRY.replace("ratio: excess_spread}", "ratio: excess_sprad}"),
        ["excess_spread_3m_avg", "'excess_sprad'"],
    ),
    (
        "ratio-named-like-a-measure",
        GOOD_ENTRY.replace("  payment_rate:", "  purchases:"),
        ["purchases", "measure name"],
    ),
    (
        "misspelled-entry-key",
        GOOD_ENTRY.replace("effective_from:", "effective_form:"),
        ["effective_form", "effective_from"],
    ),
]


@pytest.mark.parametrize(
    ("text", "fragments"), [c[1:] for c in BAD_ENTRIES], ids=[c[0] for c in BAD_ENTRIES]
)
def test_bad_config_fails_on_load_naming_ratio_and_key(text, fragments):
    with pytest.raises(ValueError) as info:
        schedule_from_yaml(text)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_validation_context_can_supply_the_measure_names():
    entry = yaml.safe_load(GOOD_ENTRY)
    with pytest.raises(ValueError, match="'available_interest_funds'"):
        RatioSchedule.model_validate(entry, context={"measure_names": set(POOL_MEASURE_NAMES)})


def _entry(effective_from: date, denominator: str) -> RatioSchedule:
    return RatioSchedule(
        effective_from=effective_from,
        definitions={"payment_rate": measure_ratio(["principal_collections"], denominator, "none")},
    )


SCHEDULES = [
    _entry(date(2026, 1, 31), "beginning_total"),
    _entry(date(2007, 1, 31), "beginning_principal"),
]


@pytest.mark.parametrize(
    ("period_end", "denominator"),
    [
        (date(2007, 1, 31), "beginning_principal"),
        (date(2025, 12, 31), "beginning_principal"),
        (date(2026, 1, 31), "beginning_total"),
        (date(2030, 6, 30), "beginning_total"),
    ],
)
def test_ratio_definitions_for_picks_latest_effective_entry(period_end, denominator):
    definitions = ratio_definitions_for(SCHEDULES, period_end)
    assert definitions["payment_rate"].denominator == denominator


def test_ratio_definitions_for_before_any_entry_is_an_error():
    with pytest.raises(ValueError, match="2006-12-31"):
        ratio_definitions_for(SCHEDULES, date(2006, 12, 31))


def test_ratio_definitions_for_refuses_two_entries_on_one_date():
    with pytest.raises(ValueError, match="2007-01-31"):
        ratio_definitions_for([*SCHEDULES, SCHEDULES[1]], date(2030, 6, 30))


def test_selected_definitions_feed_compute_ratios():
    definitions = ratio_definitions_for(SCHEDULES, date(2008, 1, 31))
    measures = {"principal_collections": 25, "beginning_principal": 100}
    assert compute_ratios(measures, 31, definitions) == {"payment_rate": D("0.25")}


# ------------------------------------------------------------- names and defaults


def test_pool_measure_names_cover_the_spec():
    names = set(POOL_MEASURE_NAMES)
    assert len(names) == len(POOL_MEASURE_NAMES)
    assert set(MEASURES) <= names
    assert {f"delinquent_{bucket}" for bucket in DPD_BUCKETS} <= names
    for prefix in ("beginning", "ending"):
        assert {f"{prefix}_{part}" for part in ("principal", "interest", "fees", "total")} <= names
    assert {"average_principal", "net_chargeoffs", "additions", "removals_fees"} <= names
    assert not names & set(VEHICLE_MEASURE_NAMES)


def test_default_schedule_is_the_spec_block_with_three_month_averages():
    definitions = DEFAULT_RATIO_SCHEDULE.definitions
    assert DEFAULT_RATIO_SCHEDULE.effective_from == date(2000, 1, 31)
    assert list(definitions) == [
        "payment_rate",
        "gross_chargeoff_rate",
        "net_chargeoff_rate",
        "portfolio_yield",
        "purchase_rate",
        "delinquency_60_plus",
        "payment_rate_3m_avg",
        "net_chargeoff_rate_3m_avg",
        "portfolio_yield_3m_avg",
        "delinquency_60_plus_3m_avg",
    ]
    assert definitions["net_chargeoff_rate"].numerator == ("chargeoff_principal", "-recoveries")


def test_default_schedule_evaluates_on_pool_measures():
    measures = dict.fromkeys(POOL_MEASURE_NAMES, 0)
    measures |= {
        "beginning_principal": 1_000_000,
        "beginning_total": 1_100_000,
        "ending_total": 1_000_000,
        "principal_collections": 90_000,
        "finance_charge_collections": 20_000,
        "chargeoff_principal": 5_000,
        "recoveries": 1_000,
        "purchases": 80_000,
        "delinquent_60_89": 10_000,
        "delinquent_180_plus": 99_999,  # charged off by then: not in 60+ (metrics.md)
    }
    history = ({"net_chargeoff_rate": D("0.051")}, {"net_chargeoff_rate": D("0.045")})
    result = compute_ratios(measures, 31, DEFAULT_RATIO_SCHEDULE.definitions, history=history)
    assert result["payment_rate"] == D("0.1")
    assert result["gross_chargeoff_rate"] == D("0.06")
    assert result["net_chargeoff_rate"] == D("0.048")
    assert result["portfolio_yield"] == D("0.252")
    assert result["purchase_rate"] == D("0.08")
    assert result["delinquency_60_plus"] == D("0.01")
    assert result["net_chargeoff_rate_3m_avg"] == D("0.048")
    assert result["payment_rate_3m_avg"] is None


def test_definitions_computable_from_keep_what_the_given_measures_support():
    from funding.performance.ratios import definitions_computable_from

    definitions = {
        "yield": {"numerator": ["finance_charge_collections"], "denominator": "beginning_principal", "annualize": "x12"},
        "fees": {"numerator": ["fee_collections"], "denominator": "beginning_principal", "annualize": "none"},
        "spread": {"difference": ["yield", "base_rate_amount"]},
        "fees_3m": {"average_of_last": 3, "ratio": "fees"},
        "yield_3m": {"average_of_last": 3, "ratio": "yield"},
    }  # fmt: skip
    given = {"finance_charge_collections", "beginning_principal"}
    # fees needs fee_collections, so its average goes too; the spread needs a
    # measure not given; the yield and its average stay, in definition order
    assert list(definitions_computable_from(definitions, given)) == ["yield", "yield_3m"]
    assert list(definitions_computable_from(definitions, given | {"base_rate_amount"})) == [
        "yield",
        "spread",
        "yield_3m",
    ]
