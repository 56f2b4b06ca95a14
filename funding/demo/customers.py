"""The customers behind the accounts: fake, obviously synthetic personal data."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from funding.demo.accounts import Accounts
from funding.demo.units import date_series, day_number

_FIRST_NAMES = np.array(
    ["Ava", "Ben", "Cora", "Dev", "Elle", "Finn", "Gia", "Hugo", "Iris", "Jon", "Kai", "Lena"]
)
_LAST_NAMES = np.array(
    [
        "Adams",
        "Baker",
        "Chen",
        "Diaz",
        "Evans",
        "Fox",
        "Garcia",
        "Hill",
        "Ito",
        "Jones",
        "Khan",
        "Lopez",
    ]
)


def customers(rng: np.random.Generator, accounts: Accounts) -> pl.DataFrame:
    """The `customers` batch: one customer per account, sharing its id."""
    ids = accounts.ids
    n = len(ids)
    f = rng.choice(_FIRST_NAMES, n)
    la = rng.choice(_LAST_NAMES, n)
    dob = rng.integers(day_number(date(1950, 1, 1)), day_number(date(2004, 1, 1)), n)
    return pl.DataFrame(
        {
            "customer_id": ids,
            "full_name": [f"{a} {b}" for a, b in zip(f, la, strict=True)],
            "email": [
                f"{a.lower()}.{b.lower()}{i}@example.com"
                for a, b, i in zip(f, la, ids, strict=True)
            ],
            "phone": [f"555-01{i % 100:02d}" for i in ids],
            "date_of_birth": date_series(dob),
            # 9xx area numbers are never issued as SSNs; unique up to 100 million customers.
            "ssn": [
                f"9{i // 1_000_000 % 100:02d}-{i // 10_000 % 100:02d}-{i % 10_000:04d}" for i in ids
            ],
            "address_line1": [f"{(i * 7) % 9000 + 100} Main St" for i in ids],
            "city": "Springfield",
            "state": accounts.billing_state,
            "postal_code": [f"{(i * 13) % 90000 + 10000:05d}" for i in ids],
        }
    )
