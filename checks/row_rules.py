"""Row-wise rules GX cannot state on pandas frames (its `UnexpectedRowsExpectation`
is SQL only), computed with Polars as `_dq_*` helper columns the suites
compare: the bucket implied by days past due, the sum of the balances, the
charge-off rules and the personal-data scan."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from funding.ledger.snapshot import dpd_bucket

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


# ------------------------------------------------------------------ helpers


def string_columns(frame: pl.DataFrame) -> list[str]:
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
    for name in string_columns(frame):
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


def with_helpers(frame: pl.DataFrame, needed: Sequence[str]) -> pl.DataFrame:
    """Add the helper columns the suite reads whose inputs are present; a helper
    with a missing input is left out, so its expectation fails as not evaluable."""
    exprs = [
        HELPERS[name].expr(frame).alias(name)
        for name in dict.fromkeys(needed)
        if all(c in frame.columns for c in HELPERS[name].inputs)
    ]
    return frame.with_columns(exprs) if exprs else frame
