"""The code location: a thin composition root over the stage modules.

`defs` is loaded lazily (`@dg.definitions`): importing this module reads no
settings and no vehicle files; `build_definitions(settings)` does, for the
settings it is given.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from assets.alerts import build_alert_asset
from assets.delivery import build_delivery_asset
from assets.extraction import build_snapshot_asset
from assets.performance import build_performance_assets
from assets.projections import build_projection_assets
from assets.publishing import build_publishing_assets
from assets.structure import build_structure_assets
from assets.validation import build_validation_asset
from dagster_project.alerting import run_failure_alerts
from dagster_project.automation import build_automation
from dagster_project.jobs import MONTHLY_CLOSE
from dagster_project.partitions import monthly_periods
from dagster_project.resources import (
    ControlResource,
    FixingsResource,
    LakeResource,
    LedgerResource,
    MailResource,
    PublisherResource,
    TapeSecretResource,
)
from dagster_project.restatement_job import restatement_job
from dagster_project.settings import Settings, code_version
from funding.ledger.closes import LedgerError
from funding.period import Period
from funding.vehicle_config import load_vehicles, portfolio_view


def build_definitions(settings: Settings) -> dg.Definitions:
    periods = monthly_periods(settings.first_period, latest_closed_period(settings))
    version = code_version(settings)
    all_assets = [build_snapshot_asset(periods)]
    all_assets += build_performance_assets(portfolio_view(), periods)
    for config in load_vehicles(settings.vehicles_dir).values():
        all_assets += build_performance_assets(config, periods)
        all_assets += build_structure_assets(config, periods)
        all_assets += build_projection_assets(config, periods)
        all_assets += build_publishing_assets(config, periods, version)
        all_assets.append(build_validation_asset(config, periods))
        all_assets.append(build_delivery_asset(config, periods))
        all_assets += build_alert_asset(config, periods)
    monthly_close = dg.define_asset_job(
        MONTHLY_CLOSE,
        selection=dg.AssetSelection.all(),
        partitions_def=periods,
        description="Every asset of every vehicle for one closed period.",
        # One process per run by default: a step process would pay the
        # imports again; `funding run --parallel` asks for the multiprocess one.
        executor_def=dg.multi_or_in_process_executor,
        config={"execution": {"config": {"in_process": {}}}},
    )
    sensors, schedules = build_automation(periods, settings.delivery_business_day)
    return dg.Definitions(
        assets=all_assets,
        jobs=[monthly_close, restatement_job()],
        executor=dg.in_process_executor,  # UI materializations and backfills too
        sensors=[*sensors, run_failure_alerts],
        schedules=schedules,
        resources=resources(settings),
    )


def latest_closed_period(settings: Settings) -> Period | None:
    """The latest closed month, read when the definitions load (None when
    the ledger cannot be read: the partitions then run to the last month ended)."""
    url = sa.make_url(settings.ledger_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return None  # never create an empty database by looking
    try:
        with LedgerResource(url=settings.ledger_url).session() as session:
            closes = session.period_closes()
    except LedgerError:
        return None
    return max(c.period for c in closes) if closes else None


def resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    return {
        "ledger": LedgerResource(url=settings.ledger_url),
        "lake": LakeResource(uri=settings.lake_uri),
        "control": ControlResource(uri=settings.control_uri),
        "fixings": FixingsResource(path=str(settings.rate_fixings_path)),
        "publisher": PublisherResource(uri=settings.publish_uri),
        "tape_secret": tape_secret(settings),
        "mail": MailResource(
            smtp_url=settings.smtp_url or "",
            outbox=str(settings.outbox_dir),
            alert_to=",".join(settings.alert_to),
            alert_from=settings.alert_from,
        ),
    }


def tape_secret(settings: Settings) -> TapeSecretResource:
    """`TAPE_HMAC_KEY` when set; the demo's generated key file otherwise; and
    outside the demo, nothing, so the loan tape refuses to run."""
    rotation = settings.tape_key_rotation
    if settings.tape_key_in_env:
        return TapeSecretResource(key=dg.EnvVar("TAPE_HMAC_KEY"), rotation=rotation)
    if settings.demo:
        return TapeSecretResource(key_file=str(settings.tape_key_file), rotation=rotation)
    return TapeSecretResource(rotation=rotation)


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(Settings.from_env())
