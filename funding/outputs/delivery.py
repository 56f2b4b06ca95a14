"""Investor delivery: who receives which files of a vehicle's package, the
notification message, and the log that keeps a version from being sent twice.
The transport is `funding.outputs.mail`."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import make_msgid

from pydantic import BaseModel, ConfigDict, Field

from funding.outputs.mail import Mailer
from funding.period import Period


class InvestorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    files: tuple[str, ...] = ("investor_report.pdf", "investor_report.html", "loan_tape.csv")


class DeliveryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sender: str = "capital-markets@lender.example"
    link_expiry_hours: int = Field(
        default=168, ge=1, le=168
    )  # S3 presigned URLs allow at most 7 days


@dataclass(frozen=True)
class DeliveryRecord:
    investor: str
    email: str
    vehicle_id: str
    period: str
    version: int
    sent_at: str
    message_id: str
    transport: str


def compose_message(
    sender: str,
    investor: InvestorConfig,
    vehicle_name: str,
    vehicle_id: str,
    period_end: date,
    version: int,
    links: Mapping[str, str],
    expiry_hours: int,
    restates: str | None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = f"{investor.name} <{investor.email}>"
    note = f" (restates {restates})" if restates else ""
    message["Subject"] = f"{vehicle_name}: investor package {period_end:%Y-%m} v{version}{note}"
    message["Message-ID"] = make_msgid(domain="funding.local")
    lines = [
        f"Dear {investor.name},",
        "",
        f"The monthly investor package of {vehicle_name} ({vehicle_id}) for the period ending "
        f"{period_end:%d %B %Y} is available (version {version}{note}).",
        "",
        *[f"  {name}: {link}" for name, link in links.items()],
        "",
        f"Links are valid for {expiry_hours} hours.",
    ]
    message.set_content("\n".join(lines))
    return message


def already_delivered(log: Sequence[Mapping], investor_email: str, version: int) -> bool:
    return any(r["email"] == investor_email and r["version"] == version for r in log)


def log_line(record: DeliveryRecord) -> str:
    return json.dumps(asdict(record), sort_keys=True)


def deliver_package(
    *,
    vehicle_name: str,
    vehicle_id: str,
    period: Period,
    investors: Sequence[InvestorConfig],
    delivery: DeliveryConfig,
    package: Mapping,
    log: list[dict],
    link: Callable[[str, int], str],
    mailer: Mailer,
    save_log: Callable[[list[dict]], None],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[DeliveryRecord]:
    """Send each investor who has not had this version its links, once.

    `package` is the package record (version, files, restates); `log` the
    delivery log so far, extended in place and saved after every message so a
    crash never re-sends what went out.
    """
    version = package["version"]
    expiry = delivery.link_expiry_hours
    sent = []
    for investor in investors:
        if already_delivered(log, investor.email, version):
            continue
        links = {
            name: link(package["files"][name], expiry * 3600)
            for name in investor.files
            if name in package["files"]
        }
        message = compose_message(
            delivery.sender,
            investor,
            vehicle_name,
            vehicle_id,
            period.end,
            version,
            links,
            expiry,
            package.get("restates"),
        )
        transport = mailer.send(message)
        record = DeliveryRecord(
            investor.name,
            investor.email,
            vehicle_id,
            period.key,
            version,
            clock().isoformat(timespec="seconds"),
            message["Message-ID"],
            transport,
        )
        log.append(json.loads(log_line(record)))
        sent.append(record)
        save_log(log)
    return sent
