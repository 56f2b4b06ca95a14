"""Investor delivery of a vehicle's package: one message per investor and
version, never twice."""

import dagster as dg

from assets.stage import Step, vehicle_asset
from funding.outputs.delivery import deliver_package
from funding.storage.tables import DELIVERIES, PACKAGE
from funding.vehicle_config import VehicleConfig


def build_delivery_asset(config: VehicleConfig, partitions_def) -> dg.AssetsDefinition:
    @vehicle_asset(
        config,
        "delivery",
        partitions_def=partitions_def,
        reads=[PACKAGE],
        writes=[DELIVERIES],
        resources={"publisher", "mail"},
        kinds={"email"},
        description="Sends each investor of the vehicle the package's links, once per version.",
    )
    def delivery(step: Step) -> dg.MaterializeResult:
        package = step.tables.read(PACKAGE)
        sent = deliver_package(
            vehicle_name=config.name,
            vehicle_id=config.id,
            period=step.period,
            investors=config.investors,
            delivery=config.delivery,
            package=package,
            log=step.tables.read_optional(DELIVERIES) or [],
            link=step.resources.publisher.target.link,
            mailer=step.resources.mail.mailer(),
            save_log=lambda log: step.tables.write(DELIVERIES, log),
        )
        return dg.MaterializeResult(
            metadata={
                "version": dg.MetadataValue.int(package["version"]),
                "sent": dg.MetadataValue.int(len(sent)),
                "recipients": dg.MetadataValue.text(
                    ", ".join(r.email for r in sent) or "none (already delivered)"
                ),
            }
        )

    return delivery
