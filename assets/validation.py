"""The validation gate of a vehicle's period: expectation suites on the
pool's snapshot rows and the loan tape, reconciliations, distribution guards
and the data quality summary the report and the manifest carry. Its checks
are blocking: the package reads its summary, so it waits for them."""

import dagster as dg
import polars as pl

from assets.metadata import markdown_table
from assets.stage import Step, vehicle_asset
from checks.gate import GUARD_CHECKS, VALIDATION_CHECKS, validate_period
from funding.ledger.snapshot import pool_members
from funding.storage.tables import DATA_QUALITY, LOAN_TAPE, POOL_PERFORMANCE, SNAPSHOT
from funding.vehicle_config import VehicleConfig


def build_validation_asset(config: VehicleConfig, partitions_def) -> dg.AssetsDefinition:
    @vehicle_asset(
        config,
        "validation",
        partitions_def=partitions_def,
        reads=[SNAPSHOT, LOAN_TAPE, POOL_PERFORMANCE],
        writes=[DATA_QUALITY],
        checks=[*VALIDATION_CHECKS, *GUARD_CHECKS],
        resources={"publisher"},
        kinds={"great_expectations"},
        description="Expectation suites on the pool's snapshot rows and the loan tape, "
        "reconciliations of the tape to pool performance and of this period's beginning to the "
        "last published ending, distribution guards, and the data quality summary the report "
        "and manifest use.",
    )
    def validation(step: Step) -> dg.MaterializeResult:
        previous = step.period.previous()
        previous_pool = None
        if config.reports(previous):
            previous_snapshot = step.tables.read_optional(SNAPSHOT, previous)
            if previous_snapshot is not None:
                previous_pool = pool_members(previous_snapshot, config.id)
        gate = validate_period(
            label=step.label,
            pool=pool_members(step.tables.read(SNAPSHOT), config.id),
            previous_pool=previous_pool,
            tape=pl.read_parquet(step.tables.read(LOAN_TAPE)),
            performance=step.tables.read(POOL_PERFORMANCE).to_dicts()[0],
            config=config,
            published=step.resources.publisher.target,
            previous_period=previous,
        )
        step.tables.write(DATA_QUALITY, gate.summary)
        return dg.MaterializeResult(
            metadata={"data_quality": markdown_table(gate.summary)},
            check_results=[step.check_result(o) for o in gate.checks],
        )

    return validation
