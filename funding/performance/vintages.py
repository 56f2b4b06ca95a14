"""Vintage (static pool) curves, built one period at a time (metrics.md,
"Curves and tables").

A curve point (vintage quarter, months on book m) sums every account of the
vintage at its own age m, so the three origination months of a quarter are
aligned by age; only points where all three months were observed at age m
are reported. Each observed period adds only its own accounts, each at its
age in that period, so a point is a sum of per-period contributions. The
curves of a period are therefore its snapshot added to the previous period's
`VintageBasis`: the analytics step reads one snapshot whatever the ledger's
age. Reading every past snapshot instead cost 1.8 s a period at month 2 and
7.8 s at month 13 of a 1,000,000-account book, and memory with it
(bench/README.md).

Membership: the portfolio holds every account of the vintage in every
period, whatever its state (a paid-down or charged-off account stays in its
static pool); a vehicle holds the accounts in its pool at that period
(active and designated at the period end), as its investors see it. The
limit at origination is an account's credit limit in the first period it
was observed (its opening period for accounts opened after the first close).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from funding.ledger.snapshot import pool_members
from funding.performance.analytics import BUCKETS_30_PLUS, BUCKETS_60_PLUS, exact_ratio

# The snapshot columns the curves read: a caller can load only these from
# the lake (a year of a large book is many account-periods).
VINTAGE_COLUMNS: tuple[str, ...] = (
    "period_end",
    "account_id",
    "opened_on",
    "months_on_book",
    "credit_limit_cents",
    "is_active",
    "vehicle_id",
    "delinquency_bucket",
    "begin_principal_cents",
    "begin_interest_cents",
    "begin_fees_cents",
    "total_cents",
    "chargeoff_principal_cents",
    "recoveries_cents",
    "principal_collections_cents",
    "finance_charge_collections_cents",
)

_POINT_KEYS = ("vintage", "vintage_month", "months_on_book")
_SUMS = {
    "account_count": pl.Int64,
    "origination_credit_limit_cents": pl.Int64,
    "beginning_principal_cents": pl.Int64,
    "beginning_total_cents": pl.Int64,
    "total_receivables_cents": pl.Int64,
    "chargeoff_principal_cents": pl.Int64,
    "recoveries_cents": pl.Int64,
    "payments_cents": pl.Int64,
    "delinquent_30_plus_cents": pl.Int64,
    "delinquent_60_plus_cents": pl.Int64,
}
_POINT_SCHEMA = {
    "vintage": pl.String,
    "vintage_month": pl.Int64,
    "months_on_book": pl.Int64,
    **_SUMS,
}
# One row per observed period and point; plus, for every observed period, a
# row with a null vintage, so a period whose accounts all fall outside the
# pool still counts as observed (the completeness rule needs it).
CONTRIBUTION_SCHEMA = {"period_month": pl.Int64, **_POINT_SCHEMA}
LIMITS_SCHEMA = {"account_id": pl.Int64, "origination_limit_cents": pl.Int64}


@dataclass(frozen=True)
class VintageBasis:
    """What a period's curves are computed from: every observed period's
    contribution to each point (`CONTRIBUTION_SCHEMA`), and the limit at
    origination of every account observed so far (`LIMITS_SCHEMA`)."""

    contributions: pl.DataFrame
    origination_limits: pl.DataFrame

    @classmethod
    def empty(cls) -> VintageBasis:
        return cls(pl.DataFrame(schema=CONTRIBUTION_SCHEMA), pl.DataFrame(schema=LIMITS_SCHEMA))

    @classmethod
    def of(
        cls, snapshots: pl.DataFrame | Sequence[pl.DataFrame], vehicle_id: str | None
    ) -> VintageBasis:
        """The basis of consecutive periods' snapshots (per-period frames or one
        concatenated frame; `VINTAGE_COLUMNS` suffice), oldest first."""
        if isinstance(snapshots, pl.DataFrame):
            snapshots = snapshots.partition_by("period_end")
        basis = cls.empty()
        for snapshot in sorted(
            (s for s in snapshots if s.height), key=lambda s: s["period_end"][0]
        ):
            basis = basis.extended(snapshot, vehicle_id)
        return basis

    def extended(self, snapshot: pl.DataFrame, vehicle_id: str | None) -> VintageBasis:
        """This basis with the next period's snapshot added."""
        if snapshot.height == 0:
            return self  # nothing observed: the period does not count
        opened = snapshot.filter(pl.col("opened_on").is_not_null())
        first_seen = (
            opened.unique("account_id", keep="first", maintain_order=True)
            .join(self.origination_limits, on="account_id", how="anti")
            .select("account_id", pl.col("credit_limit_cents").alias("origination_limit_cents"))
            .sort("account_id")  # rows in a fixed order: a rerun writes the same bytes
        )
        limits = pl.concat([self.origination_limits, first_seen.cast(LIMITS_SCHEMA)])
        members = opened.join(limits, on="account_id", how="left").with_columns(
            pl.format(
                "{}-Q{}", pl.col("opened_on").dt.year(), pl.col("opened_on").dt.quarter()
            ).alias("vintage"),
            (
                pl.col("opened_on").dt.year().cast(pl.Int64) * 12
                + (pl.col("opened_on").dt.quarter().cast(pl.Int64) - 1) * 3
            ).alias("vintage_month"),
        )
        if vehicle_id is not None:
            members = pool_members(members, vehicle_id)
        period_month = _month_index(snapshot["period_end"][0])
        observed = pl.DataFrame({"vintage": [None]}, schema={"vintage": pl.String})
        contribution = pl.concat(
            [_point_sums(members).sort(_POINT_KEYS), observed], how="diagonal_relaxed"
        ).select(pl.lit(period_month, pl.Int64).alias("period_month"), *_POINT_SCHEMA)
        contributions = pl.concat([self.contributions, contribution.cast(CONTRIBUTION_SCHEMA)])
        return VintageBasis(contributions, limits)

    def curves(self) -> pl.DataFrame:
        """The vintage curves (columns: see `vintage_curves`)."""
        observed = self.contributions["period_month"].unique().to_list()
        points = (
            self.contributions.filter(pl.col("vintage").is_not_null())
            .group_by(_POINT_KEYS)
            .agg(pl.col(c).sum() for c in _SUMS)
        )
        return _curve_frame(_complete(points, observed))


def vintage_curves(
    snapshots: pl.DataFrame | Sequence[pl.DataFrame], vehicle_id: str | None
) -> pl.DataFrame:
    """Static pool curves per origination quarter and months on book, from
    the snapshots of consecutive closed periods (see `VintageBasis.of`).

    Columns: `vintage` (`YYYY-Qn`), `months_on_book`, `account_count`,
    money in Int64 cents (`origination_credit_limit_cents`,
    `beginning_principal_cents`, `beginning_total_cents`,
    `total_receivables_cents`, `chargeoff_principal_cents`,
    `recoveries_cents`, `net_chargeoffs_cents`, `payments_cents` (principal
    + finance charge collections), `delinquent_30_plus_cents`,
    `delinquent_60_plus_cents`, `cumulative_chargeoffs_cents`,
    `cumulative_net_chargeoffs_cents` (running sums over the reported ages),
    and Decimal(38, 18) fractions: `cumulative_net_chargeoff_rate` (cumulative
    net charge-offs / origination credit limit), `net_chargeoff_rate` (the
    month's net charge-offs x 12 / beginning principal), `delinquency_30_plus`
    and `delinquency_60_plus` (30-59 ... 180+ and 60-89 ... 180+ receivables
    / total receivables; charged-off accounts count in neither), and
    `payment_rate` (payments / beginning total receivables).
    """
    return VintageBasis.of(snapshots, vehicle_id).curves()


def _month_index(day) -> int:
    return day.year * 12 + day.month - 1


def _bucket_total(buckets: Sequence[str]) -> pl.Expr:
    return pl.col("total_cents").filter(pl.col("delinquency_bucket").is_in(list(buckets))).sum()


def _point_sums(members: pl.DataFrame) -> pl.DataFrame:
    return members.group_by(_POINT_KEYS).agg(
        pl.len().cast(pl.Int64).alias("account_count"),
        pl.col("origination_limit_cents").sum().alias("origination_credit_limit_cents"),
        pl.col("begin_principal_cents").sum().alias("beginning_principal_cents"),
        pl.sum_horizontal(f"begin_{p}_cents" for p in ("principal", "interest", "fees"))
        .sum()
        .alias("beginning_total_cents"),
        pl.col("total_cents").sum().alias("total_receivables_cents"),
        pl.col("chargeoff_principal_cents").sum(),
        pl.col("recoveries_cents").sum(),
        (pl.col("principal_collections_cents") + pl.col("finance_charge_collections_cents"))
        .sum()
        .alias("payments_cents"),
        _bucket_total(BUCKETS_30_PLUS).alias("delinquent_30_plus_cents"),
        _bucket_total(BUCKETS_60_PLUS).alias("delinquent_60_plus_cents"),
    )


def _complete(points: pl.DataFrame, period_months: list[int]) -> pl.DataFrame:
    """Keep the points where every origination month of the quarter is
    observed at that age, so a point never mixes a full vintage with a part
    of it (which would make cumulative figures jump or fall)."""
    mob = pl.col("vintage_month") + pl.col("months_on_book")
    observed = pl.all_horizontal((mob + k).is_in(period_months) for k in range(3))
    return points.filter(observed)


def _curve_frame(points: pl.DataFrame) -> pl.DataFrame:
    """Cumulative sums and the curve ratios of the aggregated points."""
    points = points.cast(_POINT_SCHEMA).sort("vintage", "months_on_book")
    points = points.with_columns(
        (pl.col("chargeoff_principal_cents") - pl.col("recoveries_cents")).alias(
            "net_chargeoffs_cents"
        )
    ).with_columns(
        pl.col("chargeoff_principal_cents")
        .cum_sum()
        .over("vintage")
        .alias("cumulative_chargeoffs_cents"),
        pl.col("net_chargeoffs_cents")
        .cum_sum()
        .over("vintage")
        .alias("cumulative_net_chargeoffs_cents"),
    )
    return points.select(
        pl.exclude("vintage_month"),
        exact_ratio(
            pl.col("cumulative_net_chargeoffs_cents"), pl.col("origination_credit_limit_cents")
        ).alias("cumulative_net_chargeoff_rate"),
        exact_ratio(
            pl.col("net_chargeoffs_cents"), pl.col("beginning_principal_cents"), multiplier=12
        ).alias("net_chargeoff_rate"),
        exact_ratio(pl.col("delinquent_30_plus_cents"), pl.col("total_receivables_cents")).alias(
            "delinquency_30_plus"
        ),
        exact_ratio(pl.col("delinquent_60_plus_cents"), pl.col("total_receivables_cents")).alias(
            "delinquency_60_plus"
        ),
        exact_ratio(pl.col("payments_cents"), pl.col("beginning_total_cents")).alias(
            "payment_rate"
        ),
    )
