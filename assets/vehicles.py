"""Per-vehicle assets, built by a factory from the vehicle files (and the
`portfolio` view): pool performance, analytics, eligibility, borrowing base,
waterfall and the borrowing base certificate."""

import dagster as dg
import polars as pl

from assets.extraction import SNAPSHOT_KEY
from assets.lake_layout import snapshot_path, table_path
from assets.metadata import markdown_table, pct, usd
from assets.reporting import not_reporting, read_history
from checks.dagster_results import check_specs, to_check_result
from checks.vehicle import pool_rollforward_outcome
from dagster_project.resources import LakeResource
from funding.analytics import (
    VINTAGE_COLUMNS,
    roll_rates,
    stratifications,
    trends,
    vintage_curves,
)
from funding.lake import Lake
from funding.pool import delinquency_table, performance_row, pool_measures, pool_rollforward
from funding.vehicle_config import PORTFOLIO, VehicleConfig

HISTORY_PERIODS = 3  # this period and the two before: enough for 3-month averages
TREND_PERIODS = 13
ALL_PERIODS = 10_000


def _vehicle_filter(config: VehicleConfig) -> str | None:
    return None if config.id == PORTFOLIO else config.id


def build_performance_assets(config: VehicleConfig, partitions_def) -> list[dg.AssetsDefinition]:
    vid = config.id
    perf_key = dg.AssetKey([vid, "pool_performance"])
    analytics_key = dg.AssetKey([vid, "analytics"])
    members = _vehicle_filter(config)

    @dg.asset(
        key=perf_key,
        partitions_def=partitions_def,
        deps=[SNAPSHOT_KEY],
        check_specs=check_specs(
            perf_key,
            [
                (
                    "pool_rollforward",
                    "Pool roll-forward with additions and removals holds to the cent.",
                )
            ],
        ),
        kinds={"polars"},
        group_name=vid,
        description=f"Pool measures, roll-forward, delinquency and ratios of {config.name}.",
    )
    def pool_performance(
        context: dg.AssetExecutionContext, lake: LakeResource
    ) -> dg.MaterializeResult:
        key = context.partition_key
        if (skipped := not_reporting(config, key, "pool_rollforward")) is not None:
            return skipped
        store = lake.lake
        snapshots = read_history(store, key, HISTORY_PERIODS, snapshot_path)
        history = [(pe, pool_measures(s, members)) for pe, s in snapshots if config.reports(pe)]
        row = performance_row(history, config.ratios)
        snapshot = snapshots[-1][1]
        rollforward = pool_rollforward(snapshot, members)
        delinquency = delinquency_table(snapshot, members)
        store.write_frame(row, *table_path(vid, "pool_performance", key))
        store.write_frame(rollforward, *table_path(vid, "pool_rollforward", key))
        store.write_frame(delinquency, *table_path(vid, "delinquency", key))
        outcome = pool_rollforward_outcome(vid, key, rollforward)
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
            check_results=[to_check_result(outcome, perf_key)],
        )

    @dg.asset(
        key=analytics_key,
        partitions_def=partitions_def,
        deps=[perf_key, SNAPSHOT_KEY],
        kinds={"polars"},
        group_name=vid,
        description=f"Stratifications, vintage curves, roll rates and 13-month trends of {config.name}.",
    )
    def analytics(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        key = context.partition_key
        if (skipped := not_reporting(config, key)) is not None:
            return skipped
        store = lake.lake
        current, previous = _current_and_previous(store, key)
        strat = stratifications(current, members)
        rolls = roll_rates(previous, current, members) if previous is not None else None
        # Vintage curves need every period, but only a few columns of each.
        history = read_history(store, key, ALL_PERIODS, snapshot_path, VINTAGE_COLUMNS)
        vintages = vintage_curves([s for _, s in history], members)
        performance = read_history(
            store, key, TREND_PERIODS, lambda k: table_path(vid, "pool_performance", k)
        )
        trend = trends(
            pl.concat([f for _, f in performance], how="diagonal_relaxed"), TREND_PERIODS
        )
        store.write_frame(strat, *table_path(vid, "stratifications", key))
        store.write_frame(vintages, *table_path(vid, "vintage_curves", key))
        store.write_frame(trend, *table_path(vid, "trends", key))
        if rolls is not None:
            store.write_frame(rolls, *table_path(vid, "roll_rates", key))
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


def _current_and_previous(lake: Lake, key: str) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    snapshots = [s for _, s in read_history(lake, key, 2, snapshot_path)]
    return snapshots[-1], (snapshots[0] if len(snapshots) == 2 else None)
