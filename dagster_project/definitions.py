"""The code location: a thin composition root over the stage modules."""

from __future__ import annotations

import dagster as dg

from assets.extraction import build_snapshot_asset
from dagster_project.partitions import monthly_periods
from dagster_project.resources import LakeResource, LedgerResource
from dagster_project.settings import Settings


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    periods = monthly_periods(settings)
    all_assets = [build_snapshot_asset(periods)]
    monthly_close = dg.define_asset_job(
        "monthly_close",
        selection=dg.AssetSelection.all(),
        partitions_def=periods,
        description="Every asset of every vehicle for one closed period.",
    )
    return dg.Definitions(
        assets=all_assets,
        jobs=[monthly_close],
        resources={
            "ledger": LedgerResource(url=settings.ledger_url),
            "lake": LakeResource(uri=settings.lake_uri),
        },
    )


defs = build_definitions()
