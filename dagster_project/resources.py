"""Resources: every piece of I/O an asset does goes through one of these."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from dagster_project.settings import require_folder_uri
from funding.ledger.database import LedgerSession, read_ledger, redact
from funding.outputs.mail import Mailer, mailer_for
from funding.storage.lake import Lake
from funding.storage.objects import ObjectStore, store_for
from funding.structure.rates import FixingTable, load_fixings


class LedgerResource(dg.ConfigurableResource):
    """The ledger database, read-only, by SQLAlchemy URL (`LEDGER_URL`)."""

    url: str

    @contextmanager
    def session(self) -> Iterator[LedgerSession]:
        with read_ledger(self.url) as session:
            yield session

    @property
    def display_url(self) -> str:
        return redact(self.url)


class LakeResource(dg.ConfigurableResource):
    """Intermediate tables (`LAKE_URI`): a local folder or an S3 prefix."""

    uri: str

    @property
    def lake(self) -> Lake:
        return Lake(store_for(self.uri))


class ControlResource(dg.ConfigurableResource):
    """Durable control records (`CONTROL_URI`): restated cutoffs, deliveries
    and alerts; a local folder or an S3 prefix, kept apart from the lake,
    which can be rebuilt."""

    uri: str

    @property
    def store(self) -> ObjectStore:
        return store_for(self.uri)


class FixingsResource(dg.ConfigurableResource):
    """Index fixings (`RATE_FIXINGS_PATH`): a CSV of index, fixing_date, rate_bps."""

    path: str

    @property
    def table(self) -> FixingTable:
        return load_fixings(self.path)


class TapeSecretResource(dg.ConfigurableResource):
    """The secret behind `account_ref` (`TAPE_HMAC_KEY`). The demo, which
    has no secret store, reads the key `funding seed` generated into `var/`."""

    key: str = ""
    key_file: str = ""
    rotation: bool = False  # TAPE_KEY_ROTATION=1: publishing with a changed key is intended

    def key_bytes(self) -> bytes:
        if self.key:
            return self.key.encode("utf-8")
        path = Path(self.key_file)
        if not self.key_file or not path.exists():
            raise dg.Failure(
                "TAPE_HMAC_KEY is not set: the loan tape's account_ref needs it "
                "(the demo keeps one in var/tape_hmac_key, written by `funding seed`)"
            )
        return path.read_text().strip().encode("utf-8")

    def fingerprint(self) -> str:
        """The key's `tape_key_fingerprint` (never the key)."""
        from funding.outputs.tape import key_fingerprint

        return key_fingerprint(self.key_bytes())


class PublisherResource(dg.ConfigurableResource):
    """Where packages are published (`PUBLISH_URI`): a folder or `s3://bucket/prefix`."""

    uri: str

    @property
    def target(self) -> ObjectStore:
        try:
            require_folder_uri("PUBLISH_URI", self.uri)
        except ValueError as exc:
            raise dg.Failure(str(exc)) from None
        return store_for(self.uri)


class MailResource(dg.ConfigurableResource):
    """Investor notifications and operations alerts: SMTP when `SMTP_URL` is
    set, else an outbox folder; alerts go to `ALERT_TO` from `ALERT_FROM`."""

    smtp_url: str = ""
    outbox: str = ""
    alert_to: str = ""  # comma-separated addresses
    alert_from: str = "funding-platform@lender.example"

    def mailer(self) -> Mailer:
        return mailer_for(self.smtp_url or None, Path(self.outbox))

    @property
    def alert_recipients(self) -> list[str]:
        return [a.strip() for a in self.alert_to.split(",") if a.strip()]
