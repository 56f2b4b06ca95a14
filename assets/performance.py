"""Pool performance and analytics of every vehicle and of the `portfolio`
view: measures, roll-forward, delinquency, ratios, stratifications, vintage
curves, roll rates and trends."""

import dagster as dg
import polars as pl

from assets.metadata import markdown_table, pct, usd
from assets.stage import Step, vehicle_asset
from checks.vehicle import pool_rollforward_outcome
from funding.performance.analytics import roll_rates, stratifications, trends
from funding.performance.pool import (
    delinquency_table,
    performance_row,
    pool_measures,
    pool_rollforward,
)
from funding.performance.vintages import VINTAGE_COLUMNS, VintageBasis
from funding.storage.tables import (
    DELINQUENCY,
    ORIGINATION_LIMITS,
    POOL_PERFORMANCE,
    POOL_ROLLFORWARD,
    ROLL_RATES,
    SNAPSHOT,
    STRATIFICATIONS,
    TRENDS,
    VINTAGE_CONTRIBUTIONS,
    VINTAGE_CURVES,
)
from funding.vehicle_config import PORTFOLIO, VehicleConfig

HISTORY_PERIODS = 3  # this period and the two before: enough for 3-month averages
TREND_PERIODS = 13
ALL_PERIODS = 10_000


def build_performance_assets(config: VehicleConfig, partitions_def) -> list[dg.AssetsDefinition]:
    members = None if config.id == PORTFOLIO else config.id

    @vehicle_asset(
        config,
        "pool_performance",
        partitions_def=partitions_def,
        reads=[SNAPSHOT],
        writes=[POOL_PERFORMANCE, POOL_ROLLFORWARD, DELINQUENCY],
        checks=[
            ("pool_rollforward", "Pool roll-forward with additions and removals holds to the cent.")
        ],
        kinds={"polars"},
        description=f"Pool measures, roll-forward, delinquency and ratios of {config.name}.",
    )
    def pool_performance(step: Step) -> dg.MaterializeResult:
        snapshots = step.tables.history(SNAPSHOT, HISTORY_PERIODS)
        history = [(p.end, pool_measures(s, members)) for p, s in snapshots if config.reports(p)]
        row = performance_row(history, config.ratios)
        snapshot = snapshots[-1][1]
        rollforward = pool_rollforward(snapshot, members)
        step.tables.write(POOL_PERFORMANCE, row)
        step.tables.write(POOL_ROLLFORWARD, rollforward)
        step.tables.write(DELINQUENCY, delinquency_table(snapshot, members))
        first = row.to_dicts()[0]
        return dg.MaterializeResult(
            metadata={
                "pool_balance": dg.MetadataValue.text(usd(first["ending_principal_cents"])),
                "payment_rate": dg.MetadataValue.text(pct(first.get("payment_rate"))),
                "net_chargeoff_rate": dg.MetadataValue.text(pct(first.get("net_chargeoff_rate"))),
                "delinquency_60_plus": dg.MetadataValue.text(pct(first.get("delinquency_60_plus"))),
                "accounts": dg.MetadataValue.int(int(first["account_count"])),
                "rollforward": markdown_table(
                    rollforward.select(pl.exclude("difference_cents")),
                    {c: usd for c in rollforward.columns if c.endswith("_cents")},
                ),
            },
            check_results=[
                step.check_result(pool_rollforward_outcome(config.id, step.period, rollforward))
            ],
        )

    @vehicle_asset(
        config,
        "analytics",
        partitions_def=partitions_def,
        reads=[SNAPSHOT, POOL_PERFORMANCE, VINTAGE_CONTRIBUTIONS, ORIGINATION_LIMITS],
        writes=[
            STRATIFICATIONS,
            VINTAGE_CURVES,
            TRENDS,
            ROLL_RATES,
            VINTAGE_CONTRIBUTIONS,
            ORIGINATION_LIMITS,
        ],
        kinds={"polars"},
        description=f"Stratifications, vintage curves, roll rates and 13-month trends of {config.name}.",
    )
    def analytics(step: Step) -> dg.MaterializeResult:
        snapshots = [s for _, s in step.tables.history(SNAPSHOT, 2)]
        current, previous = snapshots[-1], (snapshots[0] if len(snapshots) == 2 else None)
        strat = stratifications(current, members)
        basis = _vintage_basis(step, current, previous is not None, members)
        vintages = basis.curves()
        performance = step.tables.history(POOL_PERFORMANCE, TREND_PERIODS)
        trend = trends(
            pl.concat([f for _, f in performance], how="diagonal_relaxed"), TREND_PERIODS
        )
        step.tables.write(STRATIFICATIONS, strat)
        step.tables.write(VINTAGE_CURVES, vintages)
        step.tables.write(TRENDS, trend)
        step.tables.write(VINTAGE_CONTRIBUTIONS, basis.contributions)
        step.tables.write(ORIGINATION_LIMITS, basis.origination_limits)
        if previous is not None:
            step.tables.write(ROLL_RATES, roll_rates(previous, current, members))
        return dg.MaterializeResult(
            metadata={
                "stratification_rows": dg.MetadataValue.int(strat.height),
                "vintages": dg.MetadataValue.int(
                    vintages.select(pl.first()).n_unique() if vintages.height else 0
                ),
                "trend_periods": dg.MetadataValue.int(trend.height),
            }
        )

    return [pool_performance, analytics]


def _vintage_basis(
    step: Step, current: pl.DataFrame, chained: bool, members: str | None
) -> VintageBasis:
    """The previous period's basis plus this period's snapshot (`chained`:
    the previous period's snapshot is in the lake, so its basis continues
    the same run of consecutive periods); at an entity's first analytics (or
    when the previous period's basis is missing), every snapshot of the
    consecutive periods up to this one, a few columns of each."""
    previous = step.period.previous()
    contributions = step.tables.read_optional(VINTAGE_CONTRIBUTIONS, previous)
    limits = step.tables.read_optional(ORIGINATION_LIMITS, previous)
    if chained and contributions is not None and limits is not None:
        return VintageBasis(contributions, limits).extended(current, members)
    history = step.tables.history(SNAPSHOT, ALL_PERIODS, columns=VINTAGE_COLUMNS)
    return VintageBasis.of([s for _, s in history], members)
