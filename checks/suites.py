"""Great Expectations suites for the receivables snapshot and the loan tape,
built in code.

A check is one or more expectations that share the `check` name in their
`meta` (`fico_in_range` covers both FICO columns). Offending rows carry the
id column (`account_id` internally, `account_ref` on the tape), the row
number and the columns the check is about, at most 20 of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from checks.gx_runtime import (
    FRAME_TYPES_PARAMETER,
    PERSONAL_COLUMNS_PARAMETER,
    column_types_expectation,
    new_suite,
)
from checks.row_rules import PERSONAL_DATA_COLUMNS
from funding.ledger.snapshot import DPD_BUCKETS, STATUSES
from funding.ledger.snapshot import SCHEMA as SNAPSHOT_SCHEMA

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite

SNAPSHOT_ID = "account_id"
TAPE_ID = "account_ref"

# The 50 states and the District of Columbia (USPS codes).
US_STATES: tuple[str, ...] = (
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VT", "VA", "WA", "WV", "WI", "WY",
)  # fmt: skip


def _meta(check: str, expect: str, show: Sequence[str] = (), blocking: bool = True) -> dict:
    """`show`: the columns offending rows carry besides the id and the expectation's own."""
    return {"check": check, "expect": expect, "show": list(show), "blocking": blocking}


def _schema(gx, contract: dict[str, pl.DataType], personal: frozenset[str]) -> list:
    E = gx.expectations
    return [
        E.ExpectTableColumnsToMatchSet(
            column_set=list(contract),
            exact_match=False,
            meta=_meta("columns_present", "every contract column present"),
        ),
        # The set is the frame's columns minus the personal-data names, supplied
        # at run time: a personal-data column is then reported as unexpected.
        E.ExpectTableColumnsToMatchSet(
            column_set={"$PARAMETER": PERSONAL_COLUMNS_PARAMETER},
            exact_match=True,
            meta={
                **_meta(
                    "no_personal_data_columns", f"no column named {', '.join(sorted(personal))}"
                ),
                "personal_data_columns": sorted(personal),
            },
        ),
        E.ExpectColumnValuesToBeInSet(
            column="_dq_no_personal_data",
            value_set=[True],
            meta={
                **_meta(
                    "no_personal_data_values",
                    "no string value that looks like an email, SSN or phone number",
                ),
                "personal_data_values": True,
            },
        ),
        column_types_expectation()(
            column_types={column: str(dtype) for column, dtype in contract.items()},
            frame_types={"$PARAMETER": FRAME_TYPES_PARAMETER},
            meta=_meta("column_types", "every contract column of its contract type"),
        ),
    ]


def _ranges_and_domains(gx, apr: str, credit_limit: str) -> list:
    E = gx.expectations
    fico = [
        E.ExpectColumnValuesToBeBetween(
            column=column,
            min_value=300,
            max_value=850,
            meta=_meta("fico_in_range", "FICO between 300 and 850 or null"),
        )
        for column in ("origination_fico", "current_fico")
    ]
    status = _meta("status_in_domain", f"status in {', '.join(STATUSES)}")
    return [
        *fico,
        E.ExpectColumnValuesToBeBetween(
            column=apr,
            min_value=0,
            max_value=9999,
            meta=_meta("apr_in_range", "APR between 0 and 9999 bps"),
        ),
        E.ExpectColumnValuesToBeBetween(
            column="days_past_due",
            min_value=0,
            meta=_meta("dpd_non_negative", "days past due >= 0"),
        ),
        E.ExpectColumnPairValuesToBeEqual(
            column_A="delinquency_bucket",
            column_B="_dq_bucket_implied_by_dpd",
            ignore_row_if="both_values_are_missing",
            meta=_meta(
                "dpd_bucket_consistent",
                "delinquency bucket = the bucket of days past due (charged_off if CHARGED_OFF)",
                ["days_past_due", "status"],
            ),
        ),
        E.ExpectColumnValuesToBeInSet(
            column="delinquency_bucket",
            value_set=list(DPD_BUCKETS),
            meta=_meta("bucket_in_domain", f"delinquency bucket in {', '.join(DPD_BUCKETS)}"),
        ),
        E.ExpectColumnValuesToNotBeNull(column="status", meta=status),
        E.ExpectColumnValuesToBeInSet(column="status", value_set=list(STATUSES), meta=status),
        E.ExpectColumnValuesToBeInSet(
            column="billing_state",
            value_set=list(US_STATES),
            meta=_meta("state_is_us_code", "billing state a US state or DC code"),
        ),
        E.ExpectColumnValuesToBeBetween(
            column=credit_limit,
            min_value=0,
            strict_min=True,
            meta=_meta("credit_limit_positive", "credit limit > 0 where present"),
        ),
        E.ExpectColumnValuesToBeBetween(
            column="months_on_book",
            min_value=0,
            meta=_meta("months_on_book_non_negative", "months on book >= 0"),
        ),
    ]


def snapshot_suite() -> ExpectationSuite:
    """Data-integrity expectations of a receivables snapshot (ids: `account_id`)."""
    import great_expectations as gx

    E = gx.expectations
    keys = _meta("keys_not_null", "account_id and period_end never null", ["period_end"])
    expectations = [
        *_schema(gx, SNAPSHOT_SCHEMA, PERSONAL_DATA_COLUMNS - {"account_id"}),
        E.ExpectColumnValuesToNotBeNull(column="account_id", meta=keys),
        E.ExpectColumnValuesToNotBeNull(column="period_end", meta=keys),
        # One row per account and period, so an account is in at most one vehicle.
        E.ExpectCompoundColumnsToBeUnique(
            column_list=["period_end", "account_id"],
            meta=_meta(
                "account_unique",
                "one row per account and period (so at most one vehicle per account)",
                ["vehicle_id"],
            ),
        ),
        *_ranges_and_domains(gx, apr="purchase_apr_bps", credit_limit="credit_limit_cents"),
        *(
            E.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="period_end",
                column_B=column,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta=_meta("dates_not_after_period_end", "opened_on, charged_off_on <= period_end"),
            )
            for column in ("opened_on", "charged_off_on")
        ),
        E.ExpectColumnValuesToBeInSet(
            column="_dq_chargedoff_zero",
            value_set=[True],
            meta=_meta(
                "chargedoff_zero_receivables",
                "a CHARGED_OFF account has principal = interest = fees = 0 "
                "(a posting counted after the charge-off is posting_after_chargeoff)",
                ["status", "charged_off_on", "principal_cents", "interest_cents", "fees_cents"],
            ),
        ),
        E.ExpectColumnValuesToBeInSet(
            column="_dq_no_receivable_after_chargeoff",
            value_set=[True],
            meta=_meta(
                "posting_after_chargeoff",
                "no receivable posting counted after the account's charge-off",
                [
                    "status",
                    "charged_off_on",
                    "posted_after_chargeoff",
                    "principal_cents",
                    "interest_cents",
                    "fees_cents",
                ],
                blocking=False,
            ),
        ),
        E.ExpectColumnPairValuesToBeEqual(
            column_A="total_cents",
            column_B="_dq_balance_sum_cents",
            meta=_meta(
                "total_is_sum",
                "total = principal + interest + fees",
                ["principal_cents", "interest_cents", "fees_cents"],
            ),
        ),
    ]
    return new_suite("receivables_snapshot", expectations)


def tape_suite(eligibility: bool = False) -> ExpectationSuite:
    """Expectations of a vehicle's loan tape (ids: `account_ref`); the contract's
    columns and types are `funding.tape.tape_schema(eligibility)`."""
    import great_expectations as gx

    from funding.outputs.tape import tape_schema

    E = gx.expectations
    keys = _meta(
        "keys_not_null", "account_ref, period_end and vehicle_id never null", ["period_end"]
    )
    origination = _meta(
        "dates_not_after_period_end",
        "origination_month YYYY-MM, not after the period_end month",
        ["period_end"],
    )
    expectations = [
        *_schema(gx, tape_schema(eligibility), PERSONAL_DATA_COLUMNS),
        *(
            E.ExpectColumnValuesToNotBeNull(column=column, meta=keys)
            for column in ("account_ref", "period_end", "vehicle_id")
        ),
        E.ExpectCompoundColumnsToBeUnique(
            column_list=["period_end", "vehicle_id", "account_ref"],
            meta=_meta("account_unique", "one row per account_ref, vehicle and period"),
        ),
        E.ExpectColumnValuesToMatchRegex(
            column="account_ref",
            regex=r"^[0-9a-f]{16}$",
            meta=_meta("account_ref_format", "account_ref 16 lower-case hex characters"),
        ),
        *_ranges_and_domains(gx, apr="apr_bps", credit_limit="credit_limit"),
        E.ExpectColumnValuesToMatchRegex(
            column="origination_month", regex=r"^\d{4}-(?:0[1-9]|1[0-2])$", meta=origination
        ),
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="_dq_period_month",
            column_B="origination_month",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=origination,
        ),
        # The tape has no `posted_after_chargeoff`: the snapshot suite tells
        # an error from a warning, so here it only warns.
        E.ExpectColumnValuesToBeInSet(
            column="_dq_chargedoff_zero_tape",
            value_set=[True],
            meta=_meta(
                "chargedoff_zero_receivables",
                "a CHARGED_OFF account has zero principal, interest and fee balances",
                ["status", "principal_balance", "interest_balance", "fee_balance"],
                blocking=False,
            ),
        ),
        E.ExpectColumnPairValuesToBeEqual(
            column_A="total_balance",
            column_B="_dq_balance_sum",
            meta=_meta(
                "total_is_sum",
                "total_balance = principal_balance + interest_balance + fee_balance",
                ["principal_balance", "interest_balance", "fee_balance"],
            ),
        ),
    ]
    return new_suite("loan_tape_eligibility" if eligibility else "loan_tape", expectations)


def suite_checks(suite: ExpectationSuite) -> dict[str, bool]:
    """The suite's check names in order, each with whether it blocks (what
    `run_suite` returns outcomes for: to declare asset checks up front)."""
    out: dict[str, bool] = {}
    for expectation in suite.expectations:
        out.setdefault(expectation.meta["check"], bool(expectation.meta["blocking"]))
    return out
