"""Hand-made receivables snapshot rows for unit tests of pool and analytics code."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from funding.ledger.snapshot import SCHEMA


def snapshot_frame(*rows: dict[str, Any], period_end: date = date(2025, 3, 31)) -> pl.DataFrame:
    """Snapshot rows with neutral defaults (ids 1, 2, ...); totals follow the balances."""
    base = {n: (0 if t == pl.Int64() else None) for n, t in SCHEMA.items()}
    base |= {
        "period_end": period_end,
        "opened_on": date(2025, 1, 15),
        "is_active": True,
        "was_active": False,
        "delinquency_bucket": "current",
        "status": "OPEN",
        "flags": "",
        "posted_after_chargeoff": False,
    }
    full = []
    for i, row in enumerate(rows, start=1):
        record = base | {"account_id": i} | row
        record["total_cents"] = sum(record[f"{p}_cents"] for p in ("principal", "interest", "fees"))
        full.append(record)
    return pl.DataFrame(full, schema=SCHEMA)


# The snapshot columns eligibility and the borrowing base read.
ELIGIBILITY_COLUMNS = (
    "account_id",
    "status",
    "days_past_due",
    "flags",
    "origination_fico",
    "billing_state",
    "months_on_book",
    "purchase_apr_bps",
    "credit_limit_cents",
    "principal_cents",
    "total_cents",
)


def eligibility_pool(rows: list[dict[str, Any]], defaults: dict[str, Any]) -> pl.DataFrame:
    """Snapshot-typed pool rows for eligibility tests: `defaults` with each row's overrides."""
    return pl.DataFrame(
        [{**defaults, **row} for row in rows],
        schema={name: SCHEMA[name] for name in ELIGIBILITY_COLUMNS},
        orient="row",
    )
