"""What every per-vehicle asset shares: its key, the lake tables it reads and
writes (its dependencies come from the reads), its checks, the period of the
run and the rule that a vehicle reports nothing before its first period.

An asset body receives a `Step` and only touches the tables it declared, so
a read without a declared dependency cannot happen.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from checks.dagster_results import check_specs, to_check_result
from checks.outcome import CheckOutcome
from dagster_project.partitions import PREVIOUS_PERIOD, period_of
from funding.period import Period
from funding.storage.lake import PeriodTables, Table
from funding.storage.tables import SNAPSHOT
from funding.vehicle_config import VehicleConfig

SNAPSHOT_KEY = dg.AssetKey(SNAPSHOT.producer)


def producer_key(vehicle_id: str, table: Table) -> dg.AssetKey:
    """The asset that writes `table` for a vehicle."""
    return (
        dg.AssetKey(table.producer) if table.shared else dg.AssetKey([vehicle_id, table.producer])
    )


def dependencies(vehicle_id: str, stage: str, reads: Collection[Table]) -> list[dg.AssetDep]:
    """One dependency per producing asset of the tables read; a stage reading
    its own table reads the previous period's."""
    own = dg.AssetKey([vehicle_id, stage])
    keys = dict.fromkeys(producer_key(vehicle_id, t) for t in reads)
    return [
        dg.AssetDep(key, partition_mapping=PREVIOUS_PERIOD) if key == own else dg.AssetDep(key)
        for key in sorted(keys, key=lambda k: k.to_user_string())
    ]


@dataclass(frozen=True)
class Step:
    """One asset's run for one vehicle and period."""

    context: dg.AssetExecutionContext
    config: VehicleConfig
    period: Period
    tables: PeriodTables
    asset_key: dg.AssetKey

    @property
    def resources(self) -> Any:
        return self.context.resources

    @property
    def label(self) -> str:
        """How check summaries name the vehicle and period, e.g. `wh1 2025-03`."""
        return f"{self.config.id} {self.period}"

    def check_result(self, outcome: CheckOutcome) -> dg.AssetCheckResult:
        return to_check_result(outcome, self.asset_key, self.period)


def not_reporting(config: VehicleConfig, period: Period, checks: Sequence[str]):
    """Periods before a vehicle's first reporting period produce nothing: the
    asset is not materialized (so the month never shows as published) and its
    checks pass with a note saying why."""
    note = f"{config.id} reports from {config.first_period}; nothing to compute for {period}"
    for check in checks:
        yield dg.AssetCheckResult(
            check_name=check, passed=True, description=note, metadata={"period": period.key}
        )


def vehicle_asset(
    config: VehicleConfig,
    stage: str,
    *,
    partitions_def: dg.PartitionsDefinition,
    reads: Sequence[Table],
    writes: Sequence[Table],
    description: str,
    kinds: set[str],
    checks: Sequence[tuple[str, str]] = (),
    resources: Collection[str] = (),
) -> Callable[[Callable[[Step], dg.MaterializeResult]], dg.AssetsDefinition]:
    """Declare the asset `{vehicle}/{stage}` around a body that takes a `Step`."""
    key = dg.AssetKey([config.id, stage])
    check_names = [name for name, _ in checks]

    def decorate(body: Callable[[Step], dg.MaterializeResult]) -> dg.AssetsDefinition:
        @dg.asset(
            key=key,
            partitions_def=partitions_def,
            deps=dependencies(config.id, stage, reads),
            check_specs=check_specs(key, checks),
            kinds=kinds,
            group_name=config.id,
            description=description,
            required_resource_keys={"lake", *resources},
            output_required=False,  # nothing before the vehicle's first period
        )
        def run(context):  # an AssetExecutionContext; yields the MaterializeResult
            period = period_of(context.partition_key)
            if not config.reports(period):
                yield from not_reporting(config, period, check_names)
                return
            tables = context.resources.lake.lake.tables(
                config.id, period, reads=reads, writes=writes, stage=key.to_user_string()
            )
            result = body(Step(context, config, period, tables, key))
            # The materialization, then each check on it (as separate events,
            # which is what a generator asset yields in a run and when called).
            yield dg.MaterializeResult(metadata=result.metadata)
            yield from result.check_results or ()

        return run

    return decorate
