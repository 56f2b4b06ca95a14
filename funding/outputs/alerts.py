"""Alerts to the operations team by email, through the same mail transport
as investor delivery: a failed run, a failed blocking check, a trigger
breach and a borrowing base deficiency, each naming vehicle, period and
cause.

Each alert is sent once per event: it is claimed create-only in the control
store under a key that names the event (a run's failure by its run id; a
breach by vehicle, period and trigger), so the CLI and the daemon's sensor
seeing the same failure, or a re-run finding the same breach, send nothing
more.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid

import polars as pl

from funding.money import dollars
from funding.outputs.delivery import header_text
from funding.outputs.mail import Mailer
from funding.storage.objects import ObjectStore

KINDS = ("run_failed", "check_failed", "trigger_breach", "borrowing_base_deficiency")


@dataclass(frozen=True)
class Alert:
    kind: str
    vehicle: str  # a vehicle id, or "all vehicles" for a run
    period: str  # YYYY-MM
    cause: str
    event: str  # what makes two alerts the same event

    @property
    def subject(self) -> str:
        title = self.kind.replace("_", " ")
        return header_text(f"[funding] {title}: {self.vehicle} {self.period}", "alert subject")


def trigger_alerts(vehicle: str, period: str, trigger_tests: pl.DataFrame) -> list[Alert]:
    """One alert per breached trigger of a vehicle's period."""
    return [
        Alert(
            "trigger_breach",
            vehicle,
            period,
            f"trigger {t['name']} breached: {t['ratio']} {t['op']} {t['threshold']} "
            f"(value {t['value']}); effect: {t['effect'].replace('_', ' ')}",
            f"{vehicle}/{period}/trigger/{t['name']}",
        )
        for t in trigger_tests.filter(pl.col("breached")).to_dicts()
    ]


def deficiency_alert(vehicle: str, period: str, certificate_totals: dict[str, int]) -> list[Alert]:
    deficiency = int(certificate_totals.get("deficiency") or 0)
    if deficiency <= 0:
        return []
    advances = int(certificate_totals.get("advances_outstanding") or 0)
    base = int(certificate_totals.get("borrowing_base") or 0)
    return [
        Alert(
            "borrowing_base_deficiency",
            vehicle,
            period,
            f"advances outstanding {dollars(advances)} exceed the borrowing base "
            f"{dollars(base)} by {dollars(deficiency)}",
            f"{vehicle}/{period}/deficiency",
        )
    ]


class AlertLog:
    """Alerts sent, in the control store: `alerts/{period}/{event hash}.json`."""

    def __init__(self, store: ObjectStore):
        self.store = store

    def _key(self, alert: Alert) -> str:
        return f"alerts/{alert.period}/{hashlib.sha256(alert.event.encode()).hexdigest()[:24]}.json"

    def claim(self, alert: Alert) -> bool:
        record = {**asdict(alert), "sent_at": datetime.now(UTC).isoformat(timespec="seconds")}
        return self.store.create(self._key(alert), json.dumps(record, sort_keys=True).encode())


def compose_alert(alert: Alert, sender: str, recipients: Sequence[str]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = Address(display_name="Funding platform", addr_spec=sender)
    message["To"] = ", ".join(str(Address(addr_spec=r)) for r in recipients)
    message["Subject"] = alert.subject
    message["Message-ID"] = make_msgid(domain="funding.local")
    message.set_content(
        "\n".join(
            [
                f"What:    {alert.kind.replace('_', ' ')}",
                f"Vehicle: {alert.vehicle}",
                f"Period:  {alert.period}",
                "",
                alert.cause,
            ]
        )
    )
    return message


def send_alerts(
    alerts: Iterable[Alert],
    log: AlertLog,
    mailer: Mailer,
    sender: str,
    recipients: Sequence[str],
) -> list[Alert]:
    """Send each alert not sent before; returns those sent now."""
    sent = []
    if not recipients:
        return sent
    for alert in alerts:
        if log.claim(alert):
            mailer.send(compose_alert(alert, sender, recipients), sender, list(recipients))
            sent.append(alert)
    return sent
