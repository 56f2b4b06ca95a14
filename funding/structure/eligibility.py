"""Eligibility of pool receivables and the vehicle's eligibility config.

funding.md, "Eligibility": every account in a vehicle's pool is tested
against the vehicle's criteria at the period end; a failing account is
ineligible in full and carries *every* failing reason code, so that the
certificate's ineligible amount can be explained account by account.

The config models also hold the concentration limits and the advance rate,
because a vehicle's YAML groups them under one `eligibility` key; the
borrowing base (`funding.borrowing_base`) reads them from here.

A rule passes only when its test is true on known data: a missing value
fails a criterion (funding.md says so for FICO and APR; the other columns are
never null in a valid snapshot, and if one is, the receivable should not be
lent against) and counts as matching a concentration limit (the limit
exists to cap exactly the receivables one cannot vouch for).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, ClassVar, Literal

import polars as pl
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from funding.exact import ExactDecimal

# ledger.md, table `account_flags`.
Flag = Literal["BANKRUPTCY", "FRAUD", "DECEASED", "HARDSHIP", "DISPUTE", "SCRA"]
Pct = Annotated[ExactDecimal, Field(ge=0, le=100)]
Count = Annotated[int, Field(strict=True, ge=0)]
Fico = Annotated[int, Field(strict=True, ge=300, le=850)]
Bps = Annotated[int, Field(strict=True, ge=0)]
StateCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class _Rule(BaseModel):
    """A config entry: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # snapshot columns the rule reads, so callers can fail early and by name
    columns: ClassVar[tuple[str, ...]] = ()


class _Criterion(_Rule):
    """A criterion's code is also the reason code an account carries."""

    def passes(self) -> pl.Expr:
        raise NotImplementedError

    def fails(self) -> pl.Expr:
        """Non-null Boolean: a test that cannot be decided (null) fails."""
        return ~self.passes().fill_null(False)


class NotChargedOff(_Criterion):
    code: Literal["NOT_CHARGED_OFF"]
    columns: ClassVar[tuple[str, ...]] = ("status",)

    def passes(self) -> pl.Expr:
        return pl.col("status") != "CHARGED_OFF"


class MaxDpd(_Criterion):
    code: Literal["MAX_DPD"]
    days: Count
    columns: ClassVar[tuple[str, ...]] = ("days_past_due",)

    def passes(self) -> pl.Expr:
        return pl.col("days_past_due") <= self.days


class NoFlags(_Criterion):
    code: Literal["NO_FLAGS"]
    flags: Annotated[tuple[Flag, ...], Field(min_length=1)]
    columns: ClassVar[tuple[str, ...]] = ("flags",)

    def passes(self) -> pl.Expr:
        # `flags` is the sorted ';'-joined set of active flags ('' if none)
        active = pl.col("flags").str.split(";")
        return ~pl.any_horizontal(active.list.contains(flag) for flag in self.flags)


class MinOriginationFico(_Criterion):
    code: Literal["MIN_ORIGINATION_FICO"]
    value: Fico
    columns: ClassVar[tuple[str, ...]] = ("origination_fico",)

    def passes(self) -> pl.Expr:
        return pl.col("origination_fico") >= self.value


class ExcludedStates(_Criterion):
    code: Literal["EXCLUDED_STATES"]
    states: Annotated[tuple[StateCode, ...], Field(min_length=1)]
    columns: ClassVar[tuple[str, ...]] = ("billing_state",)

    def passes(self) -> pl.Expr:
        return ~pl.col("billing_state").is_in(self.states)


class MinMonthsOnBook(_Criterion):
    code: Literal["MIN_MONTHS_ON_BOOK"]
    months: Count
    columns: ClassVar[tuple[str, ...]] = ("months_on_book",)

    def passes(self) -> pl.Expr:
        return pl.col("months_on_book") >= self.months


class MaxAprBps(_Criterion):
    code: Literal["MAX_APR_BPS"]
    value: Bps
    columns: ClassVar[tuple[str, ...]] = ("purchase_apr_bps",)

    def passes(self) -> pl.Expr:
        return pl.col("purchase_apr_bps") <= self.value


class PositiveBalance(_Criterion):
    code: Literal["POSITIVE_BALANCE"]
    columns: ClassVar[tuple[str, ...]] = ("principal_cents",)

    def passes(self) -> pl.Expr:
        return pl.col("principal_cents") > 0


class MaxUtilizationPct(_Criterion):
    """Utilization may exceed 100% (over-limit lines), so `value` is not capped."""

    code: Literal["MAX_UTILIZATION_PCT"]
    value: Annotated[ExactDecimal, Field(ge=0)]
    columns: ClassVar[tuple[str, ...]] = ("total_cents", "credit_limit_cents")

    def passes(self) -> pl.Expr:
        # total / limit <= value / 100, cross-multiplied so it stays exact
        # integer arithmetic (Int128: cents x 100 x the pct's denominator)
        ratio = Fraction(self.value)
        total = pl.col("total_cents").cast(pl.Int128)
        limit = pl.col("credit_limit_cents").cast(pl.Int128)
        within = total * 100 * ratio.denominator <= limit * ratio.numerator
        # no (or zero) limit: only an account without a balance passes
        return pl.when(limit > 0).then(within).otherwise(total <= 0)


Criterion = Annotated[
    NotChargedOff
    | MaxDpd
    | NoFlags
    | MinOriginationFico
    | ExcludedStates
    | MinMonthsOnBook
    | MaxAprBps
    | PositiveBalance
    | MaxUtilizationPct,
    Field(discriminator="code"),
]


class _Limit(_Rule):
    """A concentration limit: at most `max_pct`% of EB may be in its bucket."""

    max_pct: Pct

    def matches(self) -> pl.Expr:
        raise NotImplementedError

    def in_bucket(self) -> pl.Expr:
        """Non-null Boolean: an account with missing data is in the bucket."""
        return self.matches().fill_null(True)

    def bucket_key(self) -> pl.Expr:
        """The bucket an account falls in; one bucket ('') unless per state."""
        return pl.lit("")


class FicoBelow(_Limit):
    code: Literal["FICO_BELOW"]
    fico: Fico
    columns: ClassVar[tuple[str, ...]] = ("origination_fico",)

    def matches(self) -> pl.Expr:
        return pl.col("origination_fico") < self.fico


class SingleState(_Limit):
    """Each billing state is its own bucket, each capped at `max_pct`% of EB."""

    code: Literal["SINGLE_STATE"]
    columns: ClassVar[tuple[str, ...]] = ("billing_state",)

    def matches(self) -> pl.Expr:
        return pl.lit(True)

    def bucket_key(self) -> pl.Expr:
        return pl.col("billing_state")


class MonthsOnBookBelow(_Limit):
    code: Literal["MONTHS_ON_BOOK_BELOW"]
    months: Count
    columns: ClassVar[tuple[str, ...]] = ("months_on_book",)

    def matches(self) -> pl.Expr:
        return pl.col("months_on_book") < self.months


class DpdAtLeast(_Limit):
    code: Literal["DPD_AT_LEAST"]
    days: Count
    columns: ClassVar[tuple[str, ...]] = ("days_past_due",)

    def matches(self) -> pl.Expr:
        return pl.col("days_past_due") >= self.days


class AprAboveBps(_Limit):
    code: Literal["APR_ABOVE_BPS"]
    value: Bps
    columns: ClassVar[tuple[str, ...]] = ("purchase_apr_bps",)

    def matches(self) -> pl.Expr:
        return pl.col("purchase_apr_bps") > self.value


ConcentrationLimit = Annotated[
    FicoBelow | SingleState | MonthsOnBookBelow | DpdAtLeast | AprAboveBps,
    Field(discriminator="code"),
]


class EligibilityConfig(BaseModel):
    """A vehicle's `eligibility` block (funding.md), validated on load."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    criteria: tuple[Criterion, ...]
    concentration_limits: tuple[ConcentrationLimit, ...] = ()
    advance_rate_pct: Pct

    @model_validator(mode="after")
    def _codes_unique(self) -> EligibilityConfig:
        """A code names one rule: as a reason code and on the certificate."""
        for key, rules in (
            ("criteria", self.criteria),
            ("concentration_limits", self.concentration_limits),
        ):
            codes = [rule.code for rule in rules]
            repeated = sorted({code for code in codes if codes.count(code) > 1})
            if repeated:
                raise ValueError(f"{key}: code(s) {repeated} appear more than once")
        return self


def require_columns(frame: pl.DataFrame, columns: tuple[str, ...] | set[str], what: str) -> None:
    """Fail early, naming the missing columns, rather than deep in an expression."""
    missing = sorted(set(columns) - set(frame.columns))
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}")


def require_one_row_per_account(frame: pl.DataFrame, what: str) -> None:
    """Results are keyed by account: a frame spanning periods is a caller error."""
    if frame["account_id"].null_count():
        raise ValueError(f"{what} has rows without account_id")
    if frame["account_id"].is_duplicated().any():
        raise ValueError(f"{what} has more than one row per account_id (pass a single period)")


def evaluate_eligibility(pool: pl.DataFrame, config: EligibilityConfig) -> pl.DataFrame:
    """Test every pool account against every criterion.

    Returns one row per account, sorted by `account_id`: `is_eligible` and
    `ineligibility_reasons`, all failing codes in config order joined by ';'
    ('' when eligible), so each exclusion can be traced to every rule it broke.
    """
    needed = {"account_id", *(c for rule in config.criteria for c in rule.columns)}
    require_columns(pool, needed, "pool")
    require_one_row_per_account(pool, "pool")
    reasons = pl.concat_str(
        [pl.when(rule.fails()).then(pl.lit(rule.code)) for rule in config.criteria] or [pl.lit("")],
        separator=";",
        ignore_nulls=True,
    )
    return (
        pool.select("account_id", ineligibility_reasons=reasons)
        .select(
            "account_id",
            is_eligible=pl.col("ineligibility_reasons") == "",
            ineligibility_reasons=pl.col("ineligibility_reasons"),
        )
        .sort("account_id")
    )


def ineligibility_reason_counts(eligibility: pl.DataFrame) -> pl.DataFrame:
    """Ineligible accounts per reason code, most frequent first (an account
    failing several criteria counts under each)."""
    return (
        eligibility.filter(~pl.col("is_eligible"))
        .select(pl.col("ineligibility_reasons").str.split(";"))
        .explode("ineligibility_reasons")
        .group_by("ineligibility_reasons")
        .len()
        .sort("len", descending=True)
        .rename({"ineligibility_reasons": "reason", "len": "accounts"})
    )
