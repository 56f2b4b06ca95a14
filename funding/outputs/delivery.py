"""Investor delivery: who receives which files of a vehicle's package, the
notification message, and the records that keep a version from being sent
twice. The transport is `funding.outputs.mail`.

Addresses are validated when the vehicle file loads; a message's recipients
are the configured address and nothing else (never parsed back out of a
formatted header), and no header value can carry a line break.

Each message is claimed before it is sent: a create-only record per vehicle,
period, version and investor in the control store. Of two runs delivering
the same version at once, only the one that created the claim sends, so an
investor gets one message per version. A run that dies between its claim and
the send leaves a claim without a `sent` record: it is reported, not re-sent
(at most once; a duplicate notice to an investor is the worse failure).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid

from pydantic import BaseModel, ConfigDict, Field, field_validator

from funding.outputs.mail import Mailer
from funding.period import Period
from funding.storage.objects import ObjectStore

MAX_CHANGES_LISTED = 8


def header_text(value: str, what: str) -> str:
    """A value that goes into a mail header: no line breaks or other control characters."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{what} must not contain line breaks or control characters: {value!r}")
    return value


def mail_address(value: str, what: str = "email") -> str:
    """A bare address (`local@domain`), as `email.headerregistry` reads it."""
    header_text(value, what)
    try:
        address = Address(addr_spec=value)
    except (ValueError, IndexError) as exc:
        raise ValueError(f"{what} {value!r} is not an email address ({exc})") from None
    if address.addr_spec != value or "." not in address.domain or not address.username:
        raise ValueError(f"{what} {value!r} is not an email address (local@domain.tld)")
    return value


class InvestorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    email: str
    files: tuple[str, ...] = ("investor_report.pdf", "investor_report.html", "loan_tape.csv")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return header_text(value, "name")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return mail_address(value)


class DeliveryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sender: str = "capital-markets@lender.example"
    sender_name: str = "Capital Markets"
    link_expiry_hours: int = Field(default=168, ge=1, le=168)  # S3 presigned: at most 7 days

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        return mail_address(value, "sender")

    @field_validator("sender_name")
    @classmethod
    def _sender_name(cls, value: str) -> str:
        return header_text(value, "sender_name")


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


@dataclass(frozen=True)
class Notice:
    """What a message says about a package version."""

    vehicle_name: str
    vehicle_id: str
    period_end: date
    version: int
    restates: str | None
    reason: str | None
    changes: Sequence[Mapping[str, str]]  # figure, unit, before, after
    other_changes: int
    links: Mapping[str, str]
    links_expire_hours: int | None  # None: the links are file locations, not expiring URLs
    location: str


def compose_message(
    sender: DeliveryConfig, investor: InvestorConfig, notice: Notice
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = Address(display_name=sender.sender_name, addr_spec=sender.sender)
    message["To"] = Address(display_name=investor.name, addr_spec=investor.email)
    note = f" (restates {notice.restates})" if notice.restates else ""
    subject = (
        f"{notice.vehicle_name}: investor package {notice.period_end:%Y-%m} v{notice.version}{note}"
    )
    message["Subject"] = header_text(subject, "subject")
    message["Message-ID"] = make_msgid(domain="funding.local")
    lines = [
        f"Dear {investor.name},",
        "",
        f"The monthly investor package of {notice.vehicle_name} ({notice.vehicle_id}) for the "
        f"period ending {notice.period_end:%d %B %Y} is available (version {notice.version}{note}).",
        "",
    ]
    if notice.restates:
        lines += [f"Why it was restated: {notice.reason}", ""]
        if notice.changes:
            lines.append("What changed (before -> after):")
            lines += [
                f"  {c['figure']} ({c['unit']}): {c['before']} -> {c['after']}"
                for c in notice.changes[:MAX_CHANGES_LISTED]
            ]
            hidden = notice.other_changes + max(0, len(notice.changes) - MAX_CHANGES_LISTED)
            if hidden:
                lines.append(
                    f"  and {hidden} other figures; the manifest lists the loan-level diff."
                )
            lines.append("")
    lines += [f"  {name}: {link}" for name, link in notice.links.items()]
    lines.append("")
    if notice.links_expire_hours is not None:
        lines.append(f"Links are valid for {notice.links_expire_hours} hours.")
    else:
        lines.append(f"The files are in {notice.location}.")
    message.set_content("\n".join(lines))
    return message


class DeliveryLedger:
    """Claims and sent records of investor messages, in the control store:
    `deliveries/{vehicle}/{period}/v{N}/{investor}.claim` and `.sent`."""

    def __init__(self, store: ObjectStore):
        self.store = store

    @staticmethod
    def _key(vehicle_id: str, period: Period, version: int, email: str, kind: str) -> str:
        investor = hashlib.sha256(email.lower().encode()).hexdigest()[:16]
        return f"deliveries/{vehicle_id}/{period}/v{version}/{investor}.{kind}"

    def claim(self, vehicle_id: str, period: Period, version: int, email: str, at: str) -> bool:
        """True for the one caller that may send this message."""
        key = self._key(vehicle_id, period, version, email, "claim")
        return self.store.create(key, json.dumps({"claimed_at": at}).encode())

    def confirm(self, record: DeliveryRecord) -> None:
        key = self._key(
            record.vehicle_id, Period.parse(record.period), record.version, record.email, "sent"
        )
        self.store.write(key, json.dumps(asdict(record), sort_keys=True).encode())

    def sent(self, vehicle_id: str, period: Period) -> list[DeliveryRecord]:
        records = []
        for key in self.store.list(f"deliveries/{vehicle_id}/{period}/"):
            if key.endswith(".sent") and (data := self.store.read(key)) is not None:
                records.append(DeliveryRecord(**json.loads(data)))
        return sorted(records, key=lambda r: (r.version, r.sent_at, r.email))

    def unconfirmed(self, vehicle_id: str, period: Period) -> list[str]:
        """Claims without a sent record: messages that may not have gone out."""
        keys = set(self.store.list(f"deliveries/{vehicle_id}/{period}/"))
        return sorted(k for k in keys if k.endswith(".claim") and k[:-6] + ".sent" not in keys)


def deliver_package(
    *,
    config: DeliveryConfig,
    investors: Sequence[InvestorConfig],
    notice_for: Callable[[InvestorConfig], Notice],
    vehicle_id: str,
    period: Period,
    version: int,
    ledger: DeliveryLedger,
    mailer: Mailer,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[DeliveryRecord]:
    """Send each investor this version's notice, once (see the module doc)."""
    sent = []
    for investor in investors:
        now = clock().isoformat(timespec="seconds")
        if not ledger.claim(vehicle_id, period, version, investor.email, now):
            continue  # sent, or being sent, by this run's earlier attempt or another run
        message = compose_message(config, investor, notice_for(investor))
        transport = mailer.send(message, config.sender, [investor.email])
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
        ledger.confirm(record)
        sent.append(record)
    return sent
