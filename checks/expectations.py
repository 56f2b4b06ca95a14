"""Great Expectations 1.x suites for the receivables snapshot and the loan tape,
built in code, and the distribution guards that compare a period with the last.

`run_suite` validates a Polars frame against a suite in one GX call and returns
one `CheckOutcome` per named check. A check is one or more expectations that
share the `check` name in their `meta` (`fico_in_range` covers both FICO
columns). Offending rows carry the id column (`account_id` internally,
`account_ref` on the tape), the row number and the columns the check is about,
at most 20 of them.

What GX sees is a NumPy-backed pandas copy of the frame plus a few `_dq_*`
helper columns computed with Polars for row-wise rules GX cannot state on
pandas (its `UnexpectedRowsExpectation` is SQL only): the bucket implied by
days past due, the sum of the balances, the charge-off rules and the
personal-data scan. Column types are those of the Polars frame, handed to a
small `ExpectColumnTypeToBe` subclass as a suite parameter (see
`_column_type_expectation`).

GX takes seconds to import: it is imported only inside the functions that
build suites or run them, never at module import.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

import polars as pl

from checks.outcome import MAX_OFFENDING_ROWS, CheckOutcome, offending_rows
from funding.data_quality import DataQualityConfig
from funding.snapshot import DPD_BUCKETS, STATUSES, dpd_bucket
from funding.snapshot import SCHEMA as SNAPSHOT_SCHEMA

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

# Never published (outputs.md): the customer's fields, `customer_id` and the
# raw `account_id` (the snapshot keeps `account_id`: it is internal).
PERSONAL_DATA_COLUMNS: frozenset[str] = frozenset(
    {
        "full_name",
        "email",
        "phone",
        "date_of_birth",
        "ssn",
        "address_line1",
        "city",
        "postal_code",
        "customer_id",
        "account_id",
    }
)
# Values that look like personal data, searched for in every string column.
# Word boundaries keep a 16-hex `account_ref` or a product code from matching.
PERSONAL_DATA_PATTERNS: dict[str, str] = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    "ssn": r"\b\d{3}[- ]\d{2}[- ]\d{4}\b",
    "phone": r"(\+?1[-. ]?)?(\(\d{3}\)\s?|\b\d{3}[-. ])\d{3}[-. ]\d{4}\b|\b\d{10}\b",
}
_PERSONAL_DATA_REGEX = "|".join(f"(?:{p})" for p in PERSONAL_DATA_PATTERNS.values())

HELPER_PREFIX = "_dq_"
_PERSONAL_COLUMNS_PARAMETER = "columns_not_personal_data"
_FRAME_TYPES_PARAMETER = "frame_types"
_RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": MAX_OFFENDING_ROWS}
_SAMPLE_VALUES = 5


# ----------------------------------------------------------------- column types


@cache
def _column_type_expectation() -> type:
    """`ExpectColumnTypeToBe` over the Polars types of the frame being checked.

    The pandas copy GX validates cannot show them (an integer column with
    nulls becomes float64, a decimal object), and GX's pandas
    `ExpectColumnTypeToBe` cannot even name a parameterised Arrow type
    (`decimal128(18, 2)[pyarrow]` raises in `pandas_dtype`). So `run_suite`
    passes the frame's Polars type names as the suite parameter `frame_types`
    and this subclass compares the declared name with them; GX still resolves
    the column (a missing column fails) and reports the observed type.
    """
    from great_expectations.core.suite_parameters import SuiteParameterDict
    from great_expectations.expectations.core.expect_column_type_to_be import (
        ExpectColumnTypeToBe,
    )

    class ExpectColumnPolarsTypeToBe(ExpectColumnTypeToBe):
        frame_types: dict | SuiteParameterDict

        success_keys = ("column", "type_", "frame_types")
        args_keys = ("column", "type_", "frame_types")

        def _validate(self, metrics, runtime_configuration=None, execution_engine=None):
            column = self._get_success_kwarg("column")
            present = {d["name"] for d in metrics.get("table.column_types", [])}
            if column not in present:
                raise ValueError(f'column "{column}" does not exist')
            actual = self._get_success_kwarg("frame_types").get(column)
            return {
                "success": actual == self._get_success_kwarg("type_"),
                "result": {"observed_value": actual},
            }

    # Annotations are strings here (`from __future__ import annotations`).
    ExpectColumnPolarsTypeToBe.update_forward_refs(SuiteParameterDict=SuiteParameterDict)
    return ExpectColumnPolarsTypeToBe


# ------------------------------------------------------------------ helpers


def _string_columns(frame: pl.DataFrame) -> list[str]:
    return [
        name
        for name, dtype in frame.schema.items()
        if dtype == pl.String and not name.startswith(HELPER_PREFIX)
    ]


def _no_personal_data(frame: pl.DataFrame) -> pl.Expr:
    """True where no string column of the row (contract or not) looks personal.

    The patterns run over each column's distinct values (codes repeat a lot),
    then mark the rows holding a matching value."""
    hits = []
    for name in _string_columns(frame):
        values = frame.get_column(name).drop_nulls().unique()
        matching = values.filter(values.str.contains(_PERSONAL_DATA_REGEX))
        if len(matching):
            hits.append(pl.col(name).is_in(matching.implode()).fill_null(False))
    return ~pl.any_horizontal(hits) if hits else pl.lit(True)


def _nonzero(principal: str, interest: str, fees: str) -> pl.Expr:
    return (pl.col(principal) != 0) | (pl.col(interest) != 0) | (pl.col(fees) != 0)


_CHARGED_OFF = pl.col("status") == "CHARGED_OFF"
_SNAPSHOT_NONZERO = _nonzero("principal_cents", "interest_cents", "fees_cents")
# Balances carried unchanged from the previous period.
_CARRIED = (
    (pl.col("begin_principal_cents") == pl.col("principal_cents"))
    & (pl.col("begin_interest_cents") == pl.col("interest_cents"))
    & (pl.col("begin_fees_cents") == pl.col("fees_cents"))
)
_POSTED_AFTER = pl.col("posted_after_chargeoff").fill_null(False)


def _chargedoff_zero() -> pl.Expr:
    """A charge-off leaves the receivables at zero. Not a failure here: a
    posting counted after the charge-off (ledger.md: a warning, see below), or
    a balance carried unchanged from an earlier period (that period's finding)."""
    broken = _CHARGED_OFF & ~_POSTED_AFTER & ~_CARRIED & _SNAPSHOT_NONZERO
    return ~broken.fill_null(False)


def _no_receivable_after_chargeoff() -> pl.Expr:
    carried = (_CHARGED_OFF & _CARRIED & _SNAPSHOT_NONZERO).fill_null(False)
    return ~(_POSTED_AFTER | carried)


def _chargedoff_zero_tape() -> pl.Expr:
    broken = _CHARGED_OFF & _nonzero("principal_balance", "interest_balance", "fee_balance")
    return ~broken.fill_null(False)


def _bucket_implied_by_dpd() -> pl.Expr:
    dpd = pl.col("days_past_due")
    charged_off = _CHARGED_OFF.fill_null(False)
    return (
        pl.when(dpd.is_null() & ~charged_off)
        .then(pl.lit(None, pl.String))
        .otherwise(dpd_bucket(dpd, charged_off))
    )


@dataclass(frozen=True)
class _Helper:
    inputs: tuple[str, ...]
    expr: Callable[[pl.DataFrame], pl.Expr]


_CHARGEOFF_INPUTS = (
    "status",
    "posted_after_chargeoff",
    "principal_cents",
    "interest_cents",
    "fees_cents",
    "begin_principal_cents",
    "begin_interest_cents",
    "begin_fees_cents",
)
HELPERS: dict[str, _Helper] = {
    "_dq_bucket_implied_by_dpd": _Helper(
        ("days_past_due", "status"), lambda f: _bucket_implied_by_dpd()
    ),
    "_dq_balance_sum_cents": _Helper(
        ("principal_cents", "interest_cents", "fees_cents"),
        lambda f: pl.col("principal_cents") + pl.col("interest_cents") + pl.col("fees_cents"),
    ),
    "_dq_balance_sum": _Helper(
        ("principal_balance", "interest_balance", "fee_balance"),
        lambda f: pl.col("principal_balance") + pl.col("interest_balance") + pl.col("fee_balance"),
    ),
    "_dq_chargedoff_zero": _Helper(_CHARGEOFF_INPUTS, lambda f: _chargedoff_zero()),
    "_dq_no_receivable_after_chargeoff": _Helper(
        _CHARGEOFF_INPUTS, lambda f: _no_receivable_after_chargeoff()
    ),
    "_dq_chargedoff_zero_tape": _Helper(
        ("status", "principal_balance", "interest_balance", "fee_balance"),
        lambda f: _chargedoff_zero_tape(),
    ),
    "_dq_period_month": _Helper(
        ("period_end",), lambda f: pl.col("period_end").dt.strftime("%Y-%m")
    ),
    "_dq_no_personal_data": _Helper((), _no_personal_data),
}


# How a summary names a helper column.
HELPER_LABELS: dict[str, str] = {
    "_dq_bucket_implied_by_dpd": "the bucket of days_past_due",
    "_dq_balance_sum_cents": "principal + interest + fees",
    "_dq_balance_sum": "principal + interest + fee balances",
    "_dq_period_month": "the period_end month",
}


def _with_helpers(frame: pl.DataFrame, needed: Sequence[str]) -> pl.DataFrame:
    """Add the helper columns the suite reads whose inputs are present; a helper
    with a missing input is left out, so its expectation fails as not evaluable."""
    exprs = [
        HELPERS[name].expr(frame).alias(name)
        for name in dict.fromkeys(needed)
        if all(c in frame.columns for c in HELPERS[name].inputs)
    ]
    return frame.with_columns(exprs) if exprs else frame


# ------------------------------------------------------------------- suites


def _meta(check: str, expect: str, show: Sequence[str] = (), blocking: bool = True) -> dict:
    """`show`: the columns offending rows carry besides the id and the expectation's own."""
    return {"check": check, "expect": expect, "show": list(show), "blocking": blocking}


def _schema(gx, contract: dict[str, pl.DataType], personal: frozenset[str]) -> list:
    E = gx.expectations
    type_expectation = _column_type_expectation()
    out = [
        E.ExpectTableColumnsToMatchSet(
            column_set=list(contract),
            exact_match=False,
            meta=_meta("columns_present", "every contract column present"),
        ),
        # The set is the frame's columns minus the personal-data names, supplied
        # at run time: a personal-data column is then reported as unexpected.
        E.ExpectTableColumnsToMatchSet(
            column_set={"$PARAMETER": _PERSONAL_COLUMNS_PARAMETER},
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
    ]
    for column, dtype in contract.items():
        out.append(
            type_expectation(
                column=column,
                type_=str(dtype),
                frame_types={"$PARAMETER": _FRAME_TYPES_PARAMETER},
                meta=_meta("column_types", "every contract column of its contract type"),
            )
        )
    return out


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


def _suite(name: str, expectations: list) -> ExpectationSuite:
    import great_expectations as gx

    _context()  # a GX 1.x suite needs an active context, even one never saved
    return gx.ExpectationSuite(name=name, expectations=expectations)


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
    return _suite("receivables_snapshot", expectations)


def tape_suite(eligibility: bool = False) -> ExpectationSuite:
    """Expectations of a vehicle's loan tape (ids: `account_ref`); the contract's
    columns and types are `funding.tape.tape_schema(eligibility)`."""
    import great_expectations as gx

    from funding.tape import tape_schema

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
    return _suite("loan_tape_eligibility" if eligibility else "loan_tape", expectations)


def suite_checks(suite: ExpectationSuite) -> dict[str, bool]:
    """The suite's check names in order, each with whether it blocks (what
    `run_suite` returns outcomes for: to declare asset checks up front)."""
    out: dict[str, bool] = {}
    for expectation in suite.expectations:
        out.setdefault(expectation.meta["check"], bool(expectation.meta["blocking"]))
    return out


# ------------------------------------------------------------------ running


@cache
def _context():
    """One ephemeral (in-memory) GX context per process, without progress bars."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


@cache
def _batch_definition():
    """A pandas data source with one whole-dataframe batch definition."""
    asset = _context().data_sources.add_pandas("frames").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole_frame")


def _for_gx(frame: pl.DataFrame) -> tuple[Any, dict[str, int]]:
    """The pandas copy GX validates, and the decimal scales.

    NumPy-backed, because GX's pandas engine is vectorised only there: on
    Arrow-backed or nullable columns its range checks call Python per value
    and its batch fingerprint hashes value by value (1M rows: 33 s against
    about 10 s). Decimals go in as their exact unscaled integers (cents), so
    sums compare exactly; sample values are scaled back for the summary."""
    scales = {c: t.scale for c, t in frame.schema.items() if isinstance(t, pl.Decimal)}
    if scales:
        frame = frame.with_columns(pl.col(c).to_physical().cast(pl.Int64) for c in scales)
    return frame.rechunk().to_pandas(), scales


@dataclass(frozen=True)
class _Part:
    """One expectation's result, reduced to what an outcome reports."""

    expectation: str
    columns: tuple[str, ...]
    success: bool
    unexpected: int | None
    rows: int | None
    sample: tuple
    index: tuple[int, ...]
    observed: Any
    expected_type: str | None
    mismatched: dict
    error: str | None

    @property
    def compared(self) -> bool:
        return self.expectation.startswith("expect_column_pair")

    @property
    def target(self) -> str:
        return (" vs " if self.compared else ", ").join(self.columns) if self.columns else "table"


def _exception_message(info: Any) -> str | None:
    """GX reports an exception flat, or per metric when a metric failed."""
    if not isinstance(info, dict):
        return None
    if "raised_exception" in info:
        return info.get("exception_message") if info.get("raised_exception") else None
    messages = [
        v.get("exception_message")
        for v in info.values()
        if isinstance(v, dict) and v.get("raised_exception")
    ]
    return "; ".join(dict.fromkeys(m for m in messages if m)) or None


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # a NumPy scalar
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an integer column with nulls arrives in pandas as float
    return value


def _part(result, scales: dict[str, int]) -> _Part:
    config = result.expectation_config
    kwargs = config.kwargs
    if "column" in kwargs:
        columns: tuple[str, ...] = (kwargs["column"],)
    elif "column_A" in kwargs:
        columns = (kwargs["column_A"], kwargs["column_B"])
    else:
        columns = tuple(kwargs.get("column_list") or ())
    r = result.result or {}

    def unscaled(value: Any, column: str) -> Any:
        value = _plain(value)
        if column in scales and isinstance(value, Integral):
            return Decimal(int(value)).scaleb(-scales[column])
        return value

    sample = tuple(
        tuple(unscaled(v, c) for v, c in zip(value, columns, strict=False))
        if isinstance(value, tuple)
        else unscaled(value, columns[0] if columns else "")
        for value in [c["value"] for c in r.get("partial_unexpected_counts", []) if "value" in c]
    )[:_SAMPLE_VALUES]
    error = _exception_message(result.exception_info)
    return _Part(
        expectation=config.type,
        columns=columns,
        success=bool(result.success) and error is None,
        unexpected=r.get("unexpected_count"),
        rows=r.get("element_count"),
        sample=sample,
        index=tuple(
            int(i) for i in r.get("partial_unexpected_index_list") or [] if isinstance(i, Real)
        ),
        observed=r.get("observed_value"),
        expected_type=kwargs.get("type_") if isinstance(kwargs.get("type_"), str) else None,
        mismatched=(r.get("details") or {}).get("mismatched") or {},
        error=error,
    )


def _show(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, datetime) and value.time() == time(0):
        value = value.date()  # a date column arrives in pandas as datetime64
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    return value if isinstance(value, str) else repr(value)


def _personal_offending(rows: pl.DataFrame, id_column: str) -> list[dict]:
    """Which column holds which kind of value: never the value itself."""
    out = []
    columns = _string_columns(rows)
    for row in rows.iter_rows(named=True):
        for column in columns:
            value = row[column]
            kind = value and next(
                (k for k, p in PERSONAL_DATA_PATTERNS.items() if re.search(p, value)), None
            )
            if kind:
                out.append(
                    {
                        "row": row["row"],
                        id_column: row.get(id_column),
                        "column": column,
                        "looks_like": kind,
                    }
                )
    return out


def _reason(part: _Part, meta: dict) -> str:
    if part.error:
        return f"{part.target}: not evaluated ({part.error})"
    if meta.get("personal_data_columns") is not None:
        return f"personal-data columns present: {', '.join(part.mismatched.get('unexpected', []))}"
    if part.mismatched:
        return f"missing columns: {', '.join(part.mismatched.get('missing', []))}"
    if part.expected_type is not None:
        return f"{part.target} is {part.observed}, not {part.expected_type}"
    if part.unexpected is None:
        return f"{part.target}: observed {_show(part.observed)}"
    if any(c.startswith(HELPER_PREFIX) and c not in HELPER_LABELS for c in part.columns):
        return f"{part.unexpected} of {part.rows} rows"  # a yes/no helper: the rows say why
    names = (" vs " if part.compared else ", ").join(HELPER_LABELS.get(c, c) for c in part.columns)
    values = f", e.g. {', '.join(_show(v) for v in part.sample)}" if part.sample else ""
    return f"{names}: {part.unexpected} of {part.rows} rows{values}"


def _outcome(
    check: str,
    metas: list[dict],
    parts: list[_Part],
    frame: pl.DataFrame,
    id_column: str,
    label: str,
) -> CheckOutcome:
    meta = metas[0]
    blocking = bool(meta["blocking"])
    expect = meta["expect"]
    failed = [p for p in parts if not p.success]
    row_level = all(p.unexpected is not None for p in parts)
    observed: Any = (
        sum(p.unexpected or 0 for p in parts)
        if row_level
        else {p.target: p.error or p.observed for p in failed}
    )
    details = {
        "expectations": [
            {
                "expectation": p.expectation,
                "column": p.target,
                "success": p.success,
                "unexpected_count": p.unexpected,
                "element_count": p.rows,
                "error": p.error,
            }
            for p in parts
        ]
    }
    if not failed:
        return CheckOutcome(
            check,
            True,
            f"{label}: {check} passed: {expect}"
            + (f" (0 of {parts[0].rows} rows unexpected)" if row_level and parts else ""),
            observed=observed,
            expected=expect,
            blocking=blocking,
            details=details,
        )

    index = sorted({i for p in failed for i in p.index if i < frame.height})[:MAX_OFFENDING_ROWS]
    columns = [id_column]
    for p in parts:
        columns += [c for c in p.columns if not c.startswith(HELPER_PREFIX)]
    for m in metas:
        columns += m["show"]
    columns = [c for c in dict.fromkeys(columns) if c in frame.columns]
    rows = (frame[index] if index else frame.clear()).with_columns(
        pl.Series("row", index, pl.Int64)
    )
    if meta.get("personal_data_values"):
        offending = _personal_offending(rows, id_column)
    else:
        offending = rows.select("row", *columns).to_dicts()

    reasons = [_reason(p, meta) for p in failed]
    if meta.get("personal_data_values") and offending:
        found = dict.fromkeys(f"{r['column']} ({r['looks_like']})" for r in offending)
        reasons.append(f"values that look like personal data in {', '.join(found)}")
    ids = list(dict.fromkeys(r.get(id_column) for r in offending if id_column in r))
    where = f"; {id_column}s {', '.join(_show(i) for i in ids)}" if ids else ""
    severity = "" if blocking else " (warning)"
    return CheckOutcome(
        check,
        False,
        f"{label}: {check} failed{severity}: expected {expect}; {'; '.join(reasons)}{where}",
        observed=observed,
        expected=expect,
        offending=offending_rows(offending),
        blocking=blocking,
        details=details,
    )


def run_suite(
    frame: pl.DataFrame, suite: ExpectationSuite, id_column: str, label: str
) -> list[CheckOutcome]:
    """Validate `frame` against `suite` in one GX call: one outcome per check
    of `suite_checks(suite)`, in that order.

    `id_column` names offending rows (`account_id`; `account_ref` on a tape);
    `label` names vehicle and period in every summary (e.g. "wh1 2025-03")."""
    expectations = list(suite.expectations)
    referenced = [
        value
        for e in expectations
        for key in ("column", "column_A", "column_B")
        if isinstance(value := e.configuration.kwargs.get(key), str) and value in HELPERS
    ]
    own = frame.drop([c for c in frame.columns if c.startswith(HELPER_PREFIX)])
    prepared = _with_helpers(own, referenced)
    personal = next(
        (
            e.meta["personal_data_columns"]
            for e in expectations
            if "personal_data_columns" in e.meta
        ),
        [],
    )
    parameters = {
        _PERSONAL_COLUMNS_PARAMETER: [c for c in prepared.columns if c not in personal],
        _FRAME_TYPES_PARAMETER: {c: str(t) for c, t in prepared.schema.items()},
    }
    pandas_frame, scales = _for_gx(prepared)
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": pandas_frame})
    result = batch.validate(suite, result_format=_RESULT_FORMAT, expectation_parameters=parameters)

    checks: dict[str, tuple[list[dict], list[_Part]]] = {}
    for e in expectations:
        checks.setdefault(e.meta["check"], ([], []))[0].append(dict(e.meta))
    for r in result.results:
        checks[r.expectation_config.meta["check"]][1].append(_part(r, scales))
    return [
        _outcome(check, metas, parts, prepared, id_column, label)
        for check, (metas, parts) in checks.items()
    ]


# ------------------------------------------------------ distribution guards


def _pool(frame: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    """Pool rows and principal column: a snapshot's active accounts (cents), or
    every row of a tape (`principal_balance`)."""
    if "principal_cents" in frame.columns:
        pool = frame.filter(pl.col("is_active")) if "is_active" in frame.columns else frame
        return pool, "principal_cents"
    return frame, "principal_balance"


def _principal(pool: pl.DataFrame, column: str) -> Decimal:
    total = pool.get_column(column).sum()
    if column.endswith("_cents"):
        return Decimal(int(total or 0)).scaleb(-2)
    return Decimal(total or 0)


def _change_guard(
    name: str,
    what: str,
    current: Decimal,
    previous: Decimal | None,
    limit: Decimal,
    blocking: bool,
    label: str,
) -> CheckOutcome:
    details = {"current": current, "previous": previous}
    if previous is None or previous == 0:
        note = "no previous period" if previous is None else "the previous period had none"
        return CheckOutcome(
            name,
            True,
            f"{label}: {name} passed: {what} {current}; {note} to compare with",
            observed=None,
            expected=limit,
            blocking=blocking,
            details=details,
        )
    change = ((current - previous) * 100 / abs(previous)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_EVEN
    )
    passed = abs(change) <= limit
    verdict = "passed" if passed else "failed" + ("" if blocking else " (warning)")
    return CheckOutcome(
        name,
        passed,
        f"{label}: {name} {verdict}: {what} {current} against {previous} the previous period, "
        f"a change of {change}%, {'within' if passed else 'beyond'} the {limit}% allowed",
        observed=change,
        expected=limit,
        blocking=blocking,
        details=details,
    )


def distribution_guards(
    current: pl.DataFrame,
    previous: pl.DataFrame | None,
    config: DataQualityConfig,
    label: str,
) -> list[CheckOutcome]:
    """Guards against a broken feed: pool account count and pool principal
    within the configured % of the previous period's, and the share of pool
    accounts without an origination FICO within its bound.

    Frames are snapshots (pool = active accounts; pass
    `snapshot.pool_members(snapshot, vehicle_id)` for one vehicle) or tapes
    (every row). Outcomes are warnings (`blocking=False`) unless named in
    `config.blocking_guards`; `observed` is the change in % (or the share),
    `expected` the threshold."""
    pool, principal = _pool(current)
    before = _pool(previous) if previous is not None else None
    outcomes = [
        _change_guard(
            "account_count_change",
            "pool accounts",
            Decimal(pool.height),
            Decimal(before[0].height) if before else None,
            config.max_account_count_change_pct,
            config.is_blocking("account_count_change"),
            label,
        ),
        _change_guard(
            "pool_balance_change",
            "pool principal",
            _principal(pool, principal),
            _principal(*before) if before else None,
            config.max_pool_balance_change_pct,
            config.is_blocking("pool_balance_change"),
            label,
        ),
    ]
    bound = config.max_missing_fico_share
    blocking = config.is_blocking("missing_fico_share")
    missing = pool.get_column("origination_fico").null_count()
    share = (
        (Decimal(missing) / pool.height).quantize(Decimal("0.0001")) if pool.height else Decimal(0)
    )
    passed = share <= bound
    verdict = "passed" if passed else "failed" + ("" if blocking else " (warning)")
    outcomes.append(
        CheckOutcome(
            "missing_fico_share",
            passed,
            f"{label}: missing_fico_share {verdict}: {missing} of {pool.height} pool accounts "
            f"without an origination FICO, a share of {share}, "
            f"{'within' if passed else 'above'} the bound {bound}",
            observed=share,
            expected=bound,
            blocking=blocking,
            details={"missing": missing, "accounts": pool.height},
        )
    )
    return outcomes
