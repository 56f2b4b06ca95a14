"""Investor delivery of a vehicle's package: one message per investor and
version, never twice (claims in the control store)."""

import dagster as dg

from assets.stage import Step, vehicle_asset
from funding.outputs.delivery import DeliveryLedger, InvestorConfig, Notice, deliver_package
from funding.storage.tables import PACKAGE
from funding.vehicle_config import VehicleConfig


def build_delivery_asset(config: VehicleConfig, partitions_def) -> dg.AssetsDefinition:
    @vehicle_asset(
        config,
        "delivery",
        partitions_def=partitions_def,
        reads=[PACKAGE],
        writes=[],
        resources={"publisher", "mail", "control"},
        kinds={"email"},
        description="Sends each investor of the vehicle the package's links, once per version.",
    )
    def delivery(step: Step) -> dg.MaterializeResult:
        package = step.tables.read(PACKAGE)
        target = step.resources.publisher.target
        expiry = config.delivery.link_expiry_hours

        def notice_for(investor: InvestorConfig) -> Notice:
            return Notice(
                vehicle_name=config.name,
                vehicle_id=config.id,
                period_end=step.period.end,
                version=package["version"],
                restates=package.get("restates"),
                reason=package.get("reason"),
                changes=package.get("figures_changed", []),
                other_changes=package.get("other_figures_changed", 0),
                links={
                    name: target.link(package["files"][name], expiry * 3600)
                    for name in investor.files
                    if name in package["files"]
                },
                links_expire_hours=expiry if target.links_expire else None,
                location=package["location"],
            )

        ledger = DeliveryLedger(step.resources.control.store)
        sent = deliver_package(
            config=config.delivery,
            investors=config.investors,
            notice_for=notice_for,
            vehicle_id=config.id,
            period=step.period,
            version=package["version"],
            ledger=ledger,
            mailer=step.resources.mail.mailer(),
        )
        unconfirmed = ledger.unconfirmed(config.id, step.period)
        return dg.MaterializeResult(
            metadata={
                "version": dg.MetadataValue.int(package["version"]),
                "sent": dg.MetadataValue.int(len(sent)),
                "recipients": dg.MetadataValue.text(
                    ", ".join(r.email for r in sent) or "none (already delivered)"
                ),
                "unconfirmed": dg.MetadataValue.text("; ".join(unconfirmed) or "none"),
            }
        )

    return delivery
