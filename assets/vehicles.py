"""Per-vehicle assets, built by a factory from the vehicle files (and the
`portfolio` view): pool performance, analytics, eligibility, borrowing base,
waterfall and the borrowing base certificate."""

from datetime import date, timedelta

import dagster as dg
import polars as pl

from assets.extraction import SNAPSHOT_KEY
from assets.lake_layout import snapshot_path, table_path
from assets.metadata import markdown_table, pct, usd
from checks.dagster_results import to_check_result
from checks.vehicle import pool_rollforward_outcome
from dagster_project.partitions import partition_key_of, period_end_of
from dagster_project.resources import LakeResource
from funding.analytics import roll_rates, stratifications, trends, vintage_curves
from funding.lake import Lake
from funding.pool import delinquency_table, performance_row, pool_measures, pool_rollforward
from funding.vehicle_config import PORTFOLIO, VehicleConfig

HISTORY_PERIODS = 3  # this period and the two before: enough for 3-month averages
TREND_PERIODS = 13


def previous_month_end(period_end: date) -> date:
    return period_end.replace(day=1) - timedelta(days=1)


def _vehicle_filter(config: VehicleConfig) -> str | None:
    return None if config.id == PORTFOLIO else config.id


def _not_reporting(config: VehicleConfig, key: str, *checks: str) -> dg.MaterializeResult | None:
    """Periods before a vehicle's first reporting period produce nothing;
    their checks pass with a note saying why."""
    if config.reports(period_end_of(key)):
        return None
    note = f"{config.id} reports from {config.first_period_end:%Y-%m}; nothing to compute for {key}"
    return dg.MaterializeResult(
        metadata={"status": dg.MetadataValue.text(note)},
        check_results=[
            dg.AssetCheckResult(check_name=c, passed=True, description=note) for c in checks
        ],
    )


def _read_snapshot(lake: Lake, key: str) -> pl.DataFrame:
    return lake.read_frame(*snapshot_path(key))


def _available_snapshots(lake: Lake, key: str, count: int) -> list[tuple[date, pl.DataFrame]]:
    """Up to `count` snapshots ending at `key`, oldest first, stopping at a gap."""
    out, period_end = [], period_end_of(key)
    for _ in range(count):
        k = partition_key_of(period_end)
        if not lake.exists(*snapshot_path(k)):
            break
        out.append((period_end, _read_snapshot(lake, k)))
        period_end = previous_month_end(period_end)
    return list(reversed(out))


def build_performance_assets(config: VehicleConfig, partitions_def) -> list[dg.AssetsDefinition]:
    vid = config.id
    perf_key = dg.AssetKey([vid, "pool_performance"])
    analytics_key = dg.AssetKey([vid, "analytics"])
    members = _vehicle_filter(config)

    @dg.asset(
        key=perf_key,
        partitions_def=partitions_def,
        deps=[SNAPSHOT_KEY],
        check_specs=[
            dg.AssetCheckSpec(
                "pool_rollforward",
                asset=perf_key,
                blocking=True,
                description="Pool roll-forward with additions and removals holds to the cent.",
            )
        ],
        kinds={"polars"},
        group_name=vid,
        description=f"Pool measures, roll-forward, delinquency and ratios of {config.name}.",
    )
    def pool_performance(
        context: dg.AssetExecutionContext, lake: LakeResource
    ) -> dg.MaterializeResult:
        key = context.partition_key
        if (skipped := _not_reporting(config, key, "pool_rollforward")) is not None:
            return skipped
        store = lake.lake
        history = [
            (pe, pool_measures(s, members))
            for pe, s in _available_snapshots(store, key, HISTORY_PERIODS)
            if config.reports(pe)
        ]
        row = performance_row(history, config.ratios)
        snapshot = _read_snapshot(store, key)
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
        if (skipped := _not_reporting(config, key)) is not None:
            return skipped
        store = lake.lake
        snapshots = _available_snapshots(store, key, 10_000)
        current = snapshots[-1][1]
        strat = stratifications(current, members)
        rolls = roll_rates(snapshots[-2][1], current, members) if len(snapshots) > 1 else None
        vintages = vintage_curves([s for _, s in snapshots], members)
        perf_history = _performance_history(store, vid, key, TREND_PERIODS)
        trend = trends(perf_history, TREND_PERIODS)
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


def _performance_history(lake: Lake, vid: str, key: str, count: int) -> pl.DataFrame:
    frames, period_end = [], period_end_of(key)
    for _ in range(count):
        path = table_path(vid, "pool_performance", partition_key_of(period_end))
        if not lake.exists(*path):
            break
        frames.append(lake.read_frame(*path))
        period_end = previous_month_end(period_end)
    return pl.concat(list(reversed(frames)), how="diagonal_relaxed")
