"""Resources: every piece of I/O an asset does goes through one of these."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from funding.lake import Lake
from funding.ledger import LedgerSession, read_ledger, redact


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
    """Intermediate Parquet (`LAKE_URI`): a local folder or an S3 prefix."""

    uri: str

    @property
    def lake(self) -> Lake:
        return Lake(self.uri)


class FixingsResource(dg.ConfigurableResource):
    """Index fixings (`RATE_FIXINGS_PATH`): a CSV of index, fixing_date, rate_bps."""

    path: str

    @property
    def table(self):
        from funding.fixings import load_fixings

        return load_fixings(self.path)


class TapeKeyResource(dg.ConfigurableResource):
    """The secret behind `account_ref` (`TAPE_HMAC_KEY`). Without it, the demo
    generates a key into `var/` once and says so in the run log."""

    key: str = ""
    key_file: str = ""

    def key_bytes(self, log=None) -> bytes:
        if self.key:
            return self.key.encode("utf-8")
        import secrets
        from pathlib import Path

        path = Path(self.key_file)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32) + "\n")
            path.chmod(0o600)
            if log is not None:
                log.warning(f"TAPE_HMAC_KEY is not set: generated a demo key into {path}")
        return path.read_text().strip().encode("utf-8")


class PublisherResource(dg.ConfigurableResource):
    """Where packages are published (`PUBLISH_URI`): a folder or `s3://bucket/prefix`."""

    uri: str

    @property
    def target(self):
        from funding.publish import target_for

        return target_for(self.uri)


class MailResource(dg.ConfigurableResource):
    """Investor notifications: SMTP when `SMTP_URL` is set, else an outbox folder."""

    smtp_url: str = ""
    outbox: str = ""
