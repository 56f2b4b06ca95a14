"""Concentration limits and the borrowing base of a warehouse facility.

funding.md, "Eligibility" steps 1-5 and "Warehouse advances". The lender
advances `advance_rate` of the eligible principal net of excess
concentrations, capped by its commitment. Limits apply in config order
"without duplication": principal one limit already excluded is no longer in
any later bucket, so no cent is deducted twice. Each excess is pinned to
accounts (largest remaining balance first, ties by smaller account id, the
last one partially) so the certificate can be audited account by account.

Money is integer cents throughout; the only roundings are each limit amount
(half up, once) and the advance (floor), as the spec names them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from funding.money import to_cents
from funding.structure.eligibility import (
    ConcentrationLimit,
    EligibilityConfig,
    require_columns,
    require_one_row_per_account,
)


class FacilityConfig(BaseModel):
    """A warehouse's `facility` block: the lender's commitment caps the BB."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    commitment_cents: Annotated[int, Field(strict=True, ge=0, le=10_000_000_000_000)]
    draw_policy: Literal["max_available"]


@dataclass(frozen=True)
class LimitLine:
    """One certificate line of a concentration limit (one per state for SINGLE_STATE)."""

    code: str
    bucket: str  # the state code for SINGLE_STATE, else ''
    max_pct: Decimal
    bucket_amount_cents: int
    limit_amount_cents: int
    excess_cents: int


ALLOCATION_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.Int64(),
    "principal_cents": pl.Int64(),
    "is_eligible": pl.Boolean(),
    "excess_concentration_cents": pl.Int64(),
    "excess_limits": pl.String(),
}

LIMIT_ALLOCATION_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.Int64(),
    "limit_no": pl.Int64(),
    "code": pl.String(),
    "bucket": pl.String(),
    "excess_cents": pl.Int64(),
}


@dataclass(frozen=True, eq=False)
class BorrowingBaseResult:
    """Everything a borrowing base certificate states, plus its audit trail.

    `allocation` has one row per pool account (sorted by account id) with the
    excess concentration pinned to it and the limits that took it
    (`CODE` or `SINGLE_STATE:XX`, in limit order, ';'-joined);
    `limit_allocations` has one row per account and limit that took a
    non-zero amount, so each limit's excess can be summed back.
    """

    pool_principal_cents: int
    eligible_balance_cents: int
    limits: tuple[LimitLine, ...]
    excess_concentration_cents: int
    net_eligible_cents: int
    advance_rate_pct: Decimal
    advance_amount_cents: int  # floor(advance rate x net eligible), before cap and floor at 0
    commitment_cents: int
    borrowing_base_cents: int
    advances_outstanding_cents: int
    availability_cents: int
    deficiency_cents: int
    allocation: pl.DataFrame
    limit_allocations: pl.DataFrame

    def binding_limits(self, n: int = 3) -> tuple[LimitLine, ...]:
        """The `n` limit lines with the largest excess (for run metadata)."""
        binding = [line for line in self.limits if line.excess_cents > 0]
        binding.sort(key=lambda line: (-line.excess_cents, line.code, line.bucket))
        return tuple(binding[:n])

    def certificate_rows(self) -> pl.DataFrame:
        """One row per certificate line, in the order a bank's certificate reads.

        From the pool down to eligible balance, each limit's bucket, limit and
        excess, then down to the borrowing base and the draw position.
        `amount_cents` is the line's figure (the excess on a limit line);
        `pct` is the limit's max or the advance rate.
        """
        rows = [
            _row("pool_principal", self.pool_principal_cents),
            _row("ineligible_principal", self.pool_principal_cents - self.eligible_balance_cents),
            _row("eligible_balance", self.eligible_balance_cents),
            *(
                _row(
                    line.code,
                    line.excess_cents,
                    bucket=line.bucket,
                    pct=line.max_pct,
                    bucket_amount=line.bucket_amount_cents,
                    limit_amount=line.limit_amount_cents,
                )
                for line in self.limits
            ),
            _row("excess_concentration", self.excess_concentration_cents),
            _row("net_eligible_balance", self.net_eligible_cents),
            _row("advance_amount", self.advance_amount_cents, pct=self.advance_rate_pct),
            _row("commitment", self.commitment_cents),
            _row("borrowing_base", self.borrowing_base_cents),
            _row("advances_outstanding", self.advances_outstanding_cents),
            _row("availability", self.availability_cents),
            _row("deficiency", self.deficiency_cents),
        ]
        frame = pl.DataFrame(rows, schema=_certificate_schema(rows), orient="row")
        return frame.with_row_index("line_no", offset=1).with_columns(
            pl.col("line_no").cast(pl.Int64)
        )


def _row(
    line: str,
    amount: int,
    *,
    bucket: str = "",
    pct: Decimal | None = None,
    bucket_amount: int | None = None,
    limit_amount: int | None = None,
) -> tuple[object, ...]:
    return (line, bucket, pct, bucket_amount, limit_amount, amount)


def _certificate_schema(rows: list[tuple[object, ...]]) -> dict[str, pl.DataType]:
    """Fix the pct column's scale so every pct survives exactly (no float)."""
    scales = [max(0, -pct.as_tuple().exponent) for (_, _, pct, *_) in rows if pct is not None]
    return {
        "line": pl.String(),
        "bucket": pl.String(),
        "pct": pl.Decimal(38, max(scales, default=0)),
        "bucket_amount_cents": pl.Int64(),
        "limit_amount_cents": pl.Int64(),
        "amount_cents": pl.Int64(),
    }


def compute_borrowing_base(
    pool: pl.DataFrame,
    eligibility: pl.DataFrame,
    config: EligibilityConfig,
    facility: FacilityConfig,
    advances_outstanding_cents: int,
) -> BorrowingBaseResult:
    """The borrowing base of one vehicle at one period end (funding.md steps 1-5).

    `pool` is the vehicle's pool at P (snapshot rows, one per account);
    `eligibility` is `evaluate_eligibility` of that pool; advances outstanding
    is the state carried from the previous period.
    """
    _check_advances(advances_outstanding_cents)
    accounts = _accounts(pool, eligibility, config)
    eligible = accounts.filter("is_eligible")
    eb = int(eligible["principal_cents"].sum())
    lines, limit_allocations = _apply_limits(eligible, config, eb)
    eca = sum(line.excess_cents for line in lines)
    net_eligible = eb - eca
    advance_amount, borrowing_base = borrowing_base_amount(
        net_eligible, config.advance_rate_pct, facility.commitment_cents
    )
    return BorrowingBaseResult(
        pool_principal_cents=int(accounts["principal_cents"].sum()),
        eligible_balance_cents=eb,
        limits=lines,
        excess_concentration_cents=eca,
        net_eligible_cents=net_eligible,
        advance_rate_pct=config.advance_rate_pct,
        advance_amount_cents=advance_amount,
        commitment_cents=facility.commitment_cents,
        borrowing_base_cents=borrowing_base,
        advances_outstanding_cents=advances_outstanding_cents,
        availability_cents=max(0, borrowing_base - advances_outstanding_cents),
        deficiency_cents=max(0, advances_outstanding_cents - borrowing_base),
        allocation=_allocation(accounts, limit_allocations),
        limit_allocations=limit_allocations,
    )


def borrowing_base_amount(
    net_eligible_cents: int, advance_rate_pct: Decimal, commitment_cents: int
) -> tuple[int, int]:
    """(advance amount, borrowing base) of a net eligible balance (step 4):
    the advance is floor(advance rate x net eligible), the base that capped
    by the commitment and floored at zero. Projections use it too."""
    advance_amount = math.floor(Fraction(advance_rate_pct) * net_eligible_cents / 100)
    return advance_amount, max(0, min(commitment_cents, advance_amount))


def borrowing_base_of(certificate_lines: pl.DataFrame) -> int:
    """The borrowing base line of a certificate (`certificate_rows`)."""
    return int(certificate_lines.filter(pl.col("line") == "borrowing_base")["amount_cents"][0])


def certificate_at(
    certificate_lines: pl.DataFrame, advances_outstanding_cents: int
) -> pl.DataFrame:
    """The certificate with the advances outstanding at the period end and the
    availability or deficiency they leave (funding.md step 5).

    The borrowing base is computed before the waterfall; the advances come
    from the waterfall's state, so the certificate is completed afterwards."""
    _check_advances(advances_outstanding_cents)
    base = borrowing_base_of(certificate_lines)
    position = {
        "advances_outstanding": advances_outstanding_cents,
        "availability": max(0, base - advances_outstanding_cents),
        "deficiency": max(0, advances_outstanding_cents - base),
    }
    return certificate_lines.with_columns(
        pl.when(pl.col("line").is_in(list(position)))
        .then(pl.col("line").replace_strict(position, default=None, return_dtype=pl.Int64))
        .otherwise(pl.col("amount_cents"))
        .alias("amount_cents")
    )


def certificate_totals(certificate: pl.DataFrame) -> dict[str, int]:
    """The certificate's total lines (those without a bucket), by line code."""
    return {
        r["line"]: r["amount_cents"]
        for r in certificate.filter(
            pl.col("bucket").is_null() | (pl.col("bucket") == "")
        ).to_dicts()
    }


def _check_advances(advances_outstanding_cents: int) -> None:
    """Advances are a note balance in cents: a float or negative is a bug upstream."""
    if isinstance(advances_outstanding_cents, bool) or not isinstance(
        advances_outstanding_cents, int
    ):
        raise TypeError("advances_outstanding_cents must be int cents")
    if advances_outstanding_cents < 0:
        raise ValueError("advances_outstanding_cents must not be negative")


def _accounts(
    pool: pl.DataFrame, eligibility: pl.DataFrame, config: EligibilityConfig
) -> pl.DataFrame:
    """Pool rows joined to their eligibility, sorted by account id.

    Sorting first makes every later step independent of input row order.
    """
    limit_columns = (c for limit in config.concentration_limits for c in limit.columns)
    columns = {"account_id", "principal_cents", *limit_columns}
    require_columns(pool, columns, "pool")
    require_columns(eligibility, {"account_id", "is_eligible"}, "eligibility")
    require_one_row_per_account(pool, "pool")
    require_one_row_per_account(eligibility, "eligibility")
    if pool["principal_cents"].null_count():
        raise ValueError("pool has rows without principal_cents")
    accounts = pool.select(sorted(columns)).join(
        eligibility.select("account_id", "is_eligible"), on="account_id", how="left"
    )
    if accounts["is_eligible"].null_count() or eligibility.height != pool.height:
        raise ValueError("eligibility must have exactly the pool's accounts")
    per_state = any(limit.code == "SINGLE_STATE" for limit in config.concentration_limits)
    if per_state and accounts.filter("is_eligible")["billing_state"].null_count():
        raise ValueError("an eligible account has no billing_state (SINGLE_STATE needs it)")
    return accounts.sort("account_id")


def _apply_limits(
    eligible: pl.DataFrame, config: EligibilityConfig, eb: int
) -> tuple[tuple[LimitLine, ...], pl.DataFrame]:
    """Apply each limit in order to what earlier limits left (`remaining`)."""
    state = eligible.with_columns(remaining=pl.col("principal_cents"))
    lines: list[LimitLine] = []
    taken: list[pl.DataFrame] = [pl.DataFrame(schema=LIMIT_ALLOCATION_SCHEMA)]
    for limit_no, limit in enumerate(config.concentration_limits, start=1):
        tagged = state.with_columns(_bucket=pl.when(limit.in_bucket()).then(limit.bucket_key()))
        limit_lines = _limit_lines(tagged, limit, eb)
        takes = _allocate(tagged, limit_lines).with_columns(
            limit_no=pl.lit(limit_no, pl.Int64), code=pl.lit(limit.code)
        )
        state = _deduct(state, takes)
        lines.extend(limit_lines)
        taken.append(takes.select(LIMIT_ALLOCATION_SCHEMA.keys()))
    return tuple(lines), pl.concat(taken).sort("limit_no", "bucket", "account_id")


def _limit_lines(tagged: pl.DataFrame, limit: ConcentrationLimit, eb: int) -> list[LimitLine]:
    """Bucket amount, limit amount and excess of each of the limit's buckets.

    A limit on EB >= 0 is >= 0; it is floored at 0 so that, if credit
    balances ever make EB negative, an excess never exceeds what the bucket
    holds and can always be allocated.
    """
    amounts = dict(
        tagged.filter(pl.col("_bucket").is_not_null())
        .group_by("_bucket")
        .agg(pl.col("remaining").sum())
        .iter_rows()
    )
    buckets = sorted(amounts) if limit.code == "SINGLE_STATE" else [""]
    limit_amount = max(0, to_cents(Fraction(limit.max_pct) * eb / 100, "half_up"))
    lines = []
    for bucket in buckets:
        amount = int(amounts.get(bucket, 0))
        lines.append(
            LimitLine(
                code=limit.code,
                bucket=bucket,
                max_pct=limit.max_pct,
                bucket_amount_cents=amount,
                limit_amount_cents=limit_amount,
                excess_cents=max(0, amount - limit_amount),
            )
        )
    return lines


def _allocate(tagged: pl.DataFrame, lines: list[LimitLine]) -> pl.DataFrame:
    """Pin each bucket's excess to its accounts, largest remaining first.

    Within a bucket, accounts sorted by (remaining desc, account_id asc) each
    take `clip(excess - remaining of those before it, 0, own remaining)`:
    whole balances until the excess runs out, the last one partially.
    """
    excess = pl.DataFrame(
        {
            "_bucket": [line.bucket for line in lines],
            "_excess": [line.excess_cents for line in lines],
        },
        schema={"_bucket": pl.String(), "_excess": pl.Int64()},
    ).filter(pl.col("_excess") > 0)
    ranked = (
        tagged.join(excess, on="_bucket", how="inner")
        .filter(pl.col("remaining") > 0)
        .sort(["_bucket", "remaining", "account_id"], descending=[False, True, False])
    )
    before = pl.col("remaining").cum_sum().over("_bucket") - pl.col("remaining")
    return (
        ranked.with_columns(excess_cents=(pl.col("_excess") - before).clip(0, pl.col("remaining")))
        .filter(pl.col("excess_cents") > 0)
        .select("account_id", bucket="_bucket", excess_cents="excess_cents")
    )


def _deduct(state: pl.DataFrame, takes: pl.DataFrame) -> pl.DataFrame:
    """What a limit took is no longer in any later limit's bucket."""
    return (
        state.join(takes.select("account_id", "excess_cents"), on="account_id", how="left")
        .with_columns(remaining=pl.col("remaining") - pl.col("excess_cents").fill_null(0))
        .drop("excess_cents")
    )


def _allocation(accounts: pl.DataFrame, limit_allocations: pl.DataFrame) -> pl.DataFrame:
    """Per-account audit table: each pool account's excess and the limits that took it."""
    label = (
        pl.when(pl.col("bucket") == "")
        .then(pl.col("code"))
        .otherwise(pl.concat_str("code", pl.lit(":"), "bucket"))
    )
    per_account = limit_allocations.group_by("account_id").agg(
        excess_concentration_cents=pl.col("excess_cents").sum(),
        excess_limits=label.sort_by("limit_no").str.join(";"),
    )
    return (
        accounts.select("account_id", "principal_cents", "is_eligible")
        .join(per_account, on="account_id", how="left")
        .with_columns(
            pl.col("excess_concentration_cents").fill_null(0),
            pl.col("excess_limits").fill_null(""),
        )
        .select(ALLOCATION_SCHEMA.keys())
        .cast(ALLOCATION_SCHEMA)
        .sort("account_id")
    )
