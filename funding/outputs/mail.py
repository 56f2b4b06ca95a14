"""Mail transports (adapter): SMTP when `SMTP_URL` is set
(`smtp://user:pass@host:port`, `smtps://...` for implicit TLS,
`?starttls=true` to upgrade), otherwise an outbox folder of `.eml` files,
which is what the demo uses.

The envelope (sender and recipients) is given by the caller from the
configured addresses; it is never read back from the message's headers."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlparse


class Mailer(Protocol):
    def send(self, message: EmailMessage, sender: str, recipients: Sequence[str]) -> str:
        """Send the message to exactly `recipients`; returns the transport used."""


class OutboxMailer:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def send(self, message: EmailMessage, sender: str, recipients: Sequence[str]) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = message["Message-ID"].strip("<>").replace("@", "_at_")
        (self.folder / f"{name}.eml").write_bytes(bytes(message))
        return f"outbox:{self.folder}"


class SmtpMailer:
    def __init__(self, url: str):
        self.url = urlparse(url)

    def send(self, message: EmailMessage, sender: str, recipients: Sequence[str]) -> str:
        url = self.url
        options = parse_qs(url.query)
        port = url.port or (465 if url.scheme == "smtps" else 25)
        client_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
        with client_class(url.hostname, port, timeout=30) as client:
            if options.get("starttls", ["false"])[0].lower() == "true":
                client.starttls()
            if url.username:
                client.login(unquote(url.username), unquote(url.password or ""))
            client.send_message(message, from_addr=sender, to_addrs=list(recipients))
        return f"smtp:{url.hostname}:{port}"


def mailer_for(smtp_url: str | None, outbox: Path) -> Mailer:
    return SmtpMailer(smtp_url) if smtp_url else OutboxMailer(outbox)
