"""The synthetic demo ledger: a revolving credit book generated
deterministically from a seed (`generate`) and written into a fresh
database through the generic ledger writer (`seed_ledger`)."""

from __future__ import annotations

from funding.demo.generate import SeedConfig, generate
from funding.ledger.writer import LoadReport, write_ledger


def seed_ledger(url: str, config: SeedConfig) -> LoadReport:
    """Write the synthetic ledger of `config` into a fresh database at `url`."""
    return write_ledger(url, generate(config))


__all__ = ["SeedConfig", "generate", "seed_ledger"]
