"""A vehicle's projections for one period: every configured scenario resolved
against the published pool performance and run forward, as the published
table and its manifest entry."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import polars as pl

from funding.performance.pool import measures_from_row
from funding.projections.engine import Projection, ProjectionStart, project
from funding.projections.scenarios import ResolvedScenario, base_rates, resolve_scenario
from funding.projections.table import projection_rows, projections_frame, scenario_manifest
from funding.structure.rates import FixingTable

if TYPE_CHECKING:
    from funding.vehicle_config import VehicleConfig


@dataclass(frozen=True)
class VehicleProjections:
    scenarios: tuple[ResolvedScenario, ...]
    projections: tuple[Projection, ...]
    if_amortizing: tuple[Projection, ...]
    table: pl.DataFrame
    manifest: dict[str, object]


def scenario_base(config: VehicleConfig, start: ProjectionStart) -> dict[str, Fraction]:
    """What a scenario's omitted rates default to: trailing 3-month averages of the
    published pool performance, and a warehouse's net eligible share at P."""
    base = base_rates([measures_from_row(row) for row in start.performance])
    if config.facility is not None and start.net_eligible_share is not None:
        base["net_eligible_share"] = start.net_eligible_share
    return base


def resolved_scenarios(
    config: VehicleConfig, start: ProjectionStart, fixings: FixingTable
) -> tuple[ResolvedScenario, ...]:
    base = scenario_base(config, start)
    flat = fixings.for_period(config.floating_indices(), start.period.start)
    block = config.projections
    return tuple(resolve_scenario(s, block.horizon_months, base, flat) for s in block.scenarios)


def project_vehicle(
    config: VehicleConfig, start: ProjectionStart, fixings: FixingTable
) -> VehicleProjections:
    """Every scenario of the vehicle, and each one again amortizing from P+1."""
    scenarios = resolved_scenarios(config, start, fixings)
    projections = tuple(project(config, start, s) for s in scenarios)
    if_amortizing = tuple(project(config, start, s, amortize_from_start=True) for s in scenarios)
    rows = [
        row
        for projection, amortizing in zip(projections, if_amortizing, strict=True)
        for row in projection_rows(config, projection, amortizing)
    ]
    manifest = scenario_manifest(
        start.period.key,
        config.projections.horizon_months,
        {s.name: s.parameters_sha256 for s in scenarios},
    )
    return VehicleProjections(
        scenarios, projections, if_amortizing, projections_frame(rows), manifest
    )
