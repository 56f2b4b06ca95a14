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
