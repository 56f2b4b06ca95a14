"""Investor delivery: who receives which files of a vehicle's package, the
notification message, and the log that keeps a version from being sent twice.

Messages go through SMTP when `SMTP_URL` is set (`smtp://user:pass@host:port`,
`smtps://...` for implicit TLS, `?starttls=true` to upgrade); otherwise they are
written as `.eml` files to an outbox folder, which is what the demo does.
"""

from __future__ import annotations

import json
import smtplib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from pydantic import BaseModel, ConfigDict, Field


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


def send(message: EmailMessage, smtp_url: str | None, outbox: Path) -> str:
    """Send through SMTP, or write to the outbox; returns the transport used."""
    if not smtp_url:
        outbox.mkdir(parents=True, exist_ok=True)
        name = message["Message-ID"].strip("<>").replace("@", "_at_")
        (outbox / f"{name}.eml").write_bytes(bytes(message))
        return f"outbox:{outbox}"
    url = urlparse(smtp_url)
    options = parse_qs(url.query)
    port = url.port or (465 if url.scheme == "smtps" else 25)
    client_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    with client_class(url.hostname, port, timeout=30) as client:
        if options.get("starttls", ["false"])[0].lower() == "true":
            client.starttls()
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(message)
    return f"smtp:{url.hostname}:{port}"


def already_delivered(log: Sequence[Mapping], investor_email: str, version: int) -> bool:
    return any(r["email"] == investor_email and r["version"] == version for r in log)


def log_line(record: DeliveryRecord) -> str:
    return json.dumps(asdict(record), sort_keys=True)
