"""Operations alerts of a vehicle's period: each breached trigger and a
borrowing base deficiency, emailed once per event (claims in the control
store), so the team hears of them without opening the UI."""

import dagster as dg

from assets.stage import Step, vehicle_asset
from funding.outputs.alerts import AlertLog, deficiency_alert, send_alerts, trigger_alerts
from funding.storage.tables import BORROWING_BASE_CERTIFICATE, TRIGGER_TESTS
from funding.structure.borrowing_base import certificate_totals
from funding.vehicle_config import VehicleConfig


def build_alert_asset(config: VehicleConfig, partitions_def) -> list[dg.AssetsDefinition]:
    reads = []
    if config.has_notes:
        reads.append(TRIGGER_TESTS)
    if config.facility is not None:
        reads.append(BORROWING_BASE_CERTIFICATE)
    if not reads:
        return []

    @vehicle_asset(
        config,
        "alerts",
        partitions_def=partitions_def,
        reads=reads,
        writes=[],
        resources={"mail", "control"},
        kinds={"email"},
        description=f"Emails the operations team each trigger breach and borrowing base "
        f"deficiency of {config.name}, once per event.",
    )
    def alerts(step: Step) -> dg.MaterializeResult:
        raised = []
        if config.has_notes:
            raised += trigger_alerts(config.id, step.period.key, step.tables.read(TRIGGER_TESTS))
        if config.facility is not None:
            totals = certificate_totals(step.tables.read(BORROWING_BASE_CERTIFICATE))
            raised += deficiency_alert(config.id, step.period.key, totals)
        mail = step.resources.mail
        sent = send_alerts(
            raised,
            AlertLog(step.resources.control.store),
            mail.mailer(),
            mail.alert_from,
            mail.alert_recipients,
        )
        return dg.MaterializeResult(
            metadata={
                "raised": dg.MetadataValue.text("; ".join(a.cause for a in raised) or "none"),
                "sent": dg.MetadataValue.int(len(sent)),
            }
        )

    return [alerts]
