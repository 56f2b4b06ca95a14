"""Hand-made receivables snapshot rows for unit tests of pool and analytics code."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from funding.snapshot import SCHEMA


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
