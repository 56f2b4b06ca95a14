"""Per-vehicle forward projections: every scenario run from the period's
published state through the actuals' waterfall engine, and the back-test
that proves it is that engine (a blocking check on the projection)."""

import dagster as dg
import polars as pl

from assets.metadata import markdown_table
from assets.stage import Step, vehicle_asset
from checks.projections import BACKTEST_CHECK, backtest_outcome
from funding.projections.backtest import run_backtest
from funding.projections.published import published_periods, published_start, reads
from funding.projections.vehicle import project_vehicle
from funding.storage.tables import PROJECTION_SCENARIOS, PROJECTIONS
from funding.vehicle_config import VehicleConfig


def build_projection_assets(config: VehicleConfig, partitions_def) -> list[dg.AssetsDefinition]:
    if not config.has_notes:
        return []

    @vehicle_asset(
        config,
        "projections",
        partitions_def=partitions_def,
        reads=reads(config),
        writes=[PROJECTIONS, PROJECTION_SCENARIOS],
        checks=[
            (
                BACKTEST_CHECK,
                "Projected from P-3 with the realised pool measures of P-2..P, the waterfalls "
                "equal the published ones to the cent.",
            )
        ],
        resources={"fixings"},
        kinds={"python"},
        description=f"Forward projections of {config.name} under each scenario "
        f"({config.projections.horizon_months} months): pool, notes, reserve, trigger "
        "headroom and, for a warehouse, the borrowing base and availability.",
    )
    def projections(step: Step) -> dg.MaterializeResult:
        fixings = step.resources.fixings.table
        result = project_vehicle(config, published_start(config, step.tables, step.period), fixings)
        published = published_periods(config, step.tables, step.period)
        start = published[0].period.previous()
        _, differences = run_backtest(
            config, published_start(config, step.tables, start), published, fixings
        )
        outcome = backtest_outcome(
            config.id, step.period, start, [p.period for p in published], differences
        )
        step.tables.write(PROJECTIONS, result.table)
        step.tables.write(PROJECTION_SCENARIOS, result.manifest)
        summary = result.table.filter(pl.col("measure").str.starts_with("summary."))
        return dg.MaterializeResult(
            metadata={
                "scenarios": dg.MetadataValue.json(result.manifest),
                "rows": dg.MetadataValue.int(result.table.height),
                "summary": markdown_table(summary),
            },
            check_results=[step.check_result(outcome)],
        )

    return [projections]
