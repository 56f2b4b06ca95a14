"""The code location: a thin composition root over the stage modules."""

from __future__ import annotations

import os

import dagster as dg

from assets.extraction import build_snapshot_asset
from assets.funding_structure import build_structure_assets
from assets.publishing import build_publishing_assets
from assets.vehicles import build_performance_assets
from dagster_project.automation import build_automation
from dagster_project.partitions import monthly_periods
from dagster_project.resources import (
    FixingsResource,
    LakeResource,
    LedgerResource,
    MailResource,
    PublisherResource,
    TapeKeyResource,
)
from dagster_project.settings import Settings
from funding.vehicle_config import load_vehicles, portfolio_view


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    periods = monthly_periods(settings)
    vehicles = load_vehicles(settings.vehicles_dir)
    all_assets = [build_snapshot_asset(periods)]
    all_assets += build_performance_assets(portfolio_view(), periods)
    for config in vehicles.values():
        all_assets += build_performance_assets(config, periods)
        all_assets += build_structure_assets(config, periods)
        all_assets += build_publishing_assets(config, periods, settings.vehicles_dir)
    monthly_close = dg.define_asset_job(
        "monthly_close",
        selection=dg.AssetSelection.all(),
        partitions_def=periods,
        description="Every asset of every vehicle for one closed period.",
    )
    sensors, schedules = build_automation(
        settings.ledger_url, periods, settings.delivery_business_day
    )
    return dg.Definitions(
        assets=all_assets,
        jobs=[monthly_close],
        sensors=sensors,
        schedules=schedules,
        resources={
            "ledger": LedgerResource(url=settings.ledger_url),
            "lake": LakeResource(uri=settings.lake_uri),
            "fixings": FixingsResource(path=str(settings.rate_fixings_path)),
            "publisher": PublisherResource(uri=settings.publish_uri),
            "tape_key": TapeKeyResource(
                key=dg.EnvVar("TAPE_HMAC_KEY") if os.environ.get("TAPE_HMAC_KEY") else "",
                key_file=str(settings.tape_key_file),
            ),
            "mail": MailResource(smtp_url=settings.smtp_url or "", outbox=str(settings.outbox_dir)),
        },
    )


defs = build_definitions()
