"""A tiny DSL for hand-written ledgers in tests, loaded through the real
loader (`LedgerWriter`) so both engines get the same rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import polars as pl

from funding.ledger.writer import LedgerWriter

ENTRY_LINES = {
    "PURCHASE": [("receivable:principal", 1), ("merchant:settlement", -1)],
    "RETURN": [("receivable:principal", -1), ("merchant:settlement", 1)],
    "INTEREST_CHARGE": [("receivable:interest", 1), ("income:interest", -1)],
    "FEE_CHARGE": [("receivable:fees", 1), ("income:fees", -1)],
    "RECOVERY": [("cash:collections", 1), ("income:recoveries", -1)],
}


@dataclass
class LedgerBuilder:
    accounts: list[dict] = field(default_factory=list)
    terms: list[dict] = field(default_factory=list)
    entries: list[dict] = field(default_factory=list)
    postings: list[dict] = field(default_factory=list)
    designations: list[dict] = field(default_factory=list)
    closes: list[dict] = field(default_factory=list)
    delinquency: list[dict] = field(default_factory=list)
    next_entry: int = 1

    def account(
        self,
        account_id: int,
        opened_on: date,
        limit_cents: int = 500_000,
        apr_bps: int = 2499,
        state: str = "CA",
        fico: int | None = 700,
        closed_on: date | None = None,
    ) -> LedgerBuilder:
        self.accounts.append(
            {
                "account_id": account_id,
                "customer_id": account_id,
                "product_code": "CL_STD",
                "opened_on": opened_on,
                "closed_on": closed_on,
                "close_reason": "CUSTOMER" if closed_on else None,
                "origination_fico": fico,
                "origination_income_cents": 6_000_000,
                "risk_grade": "B",
                "channel": "DIRECT",
                "billing_state": state,
                "cycle_day": 5,
            }
        )
        self.terms.append(
            {
                "account_id": account_id,
                "effective_on": opened_on,
                "credit_limit_cents": limit_cents,
                "purchase_apr_bps": apr_bps,
            }
        )
        return self

    def entry(
        self,
        account_id: int,
        entry_type: str,
        effective_on: date,
        posted_at: datetime,
        lines: list[tuple[str, int]],
        reverses: int | None = None,
    ) -> int:
        entry_id = self.next_entry
        self.next_entry += 1
        self.entries.append(
            {
                "entry_id": entry_id,
                "account_id": account_id,
                "entry_type": entry_type,
                "effective_on": effective_on,
                "posted_at": posted_at,
                "idempotency_key": f"k-{entry_id}",
                "reverses_entry_id": reverses,
            }
        )
        for line_no, (gl, amount) in enumerate(lines, start=1):
            self.postings.append(
                {"entry_id": entry_id, "line_no": line_no, "gl_account": gl, "amount_cents": amount}
            )
        return entry_id

    def simple(
        self, account_id: int, entry_type: str, cents: int, effective_on: date, posted_at: datetime
    ) -> int:
        return self.entry(
            account_id,
            entry_type,
            effective_on,
            posted_at,
            [(gl, sign * cents) for gl, sign in ENTRY_LINES[entry_type]],
        )

    def payment(
        self,
        account_id: int,
        effective_on: date,
        posted_at: datetime,
        fees: int = 0,
        interest: int = 0,
        principal: int = 0,
    ) -> int:
        lines = [("cash:collections", fees + interest + principal)]
        lines += [
            (gl, -amt)
            for gl, amt in (
                ("receivable:fees", fees),
                ("receivable:interest", interest),
                ("receivable:principal", principal),
            )
            if amt
        ]
        return self.entry(account_id, "PAYMENT", effective_on, posted_at, lines)

    def reversal(self, of_entry: int, effective_on: date, posted_at: datetime) -> int:
        original = next(e for e in self.entries if e["entry_id"] == of_entry)
        lines = [
            (p["gl_account"], -p["amount_cents"])
            for p in self.postings
            if p["entry_id"] == of_entry
        ]
        return self.entry(
            original["account_id"],
            "PAYMENT_REVERSAL",
            effective_on,
            posted_at,
            lines,
            reverses=of_entry,
        )

    def charge_off(
        self,
        account_id: int,
        effective_on: date,
        posted_at: datetime,
        principal: int,
        interest: int = 0,
        fees: int = 0,
    ) -> int:
        lines = []
        for kind, amt in (("principal", principal), ("interest", interest), ("fees", fees)):
            if amt:
                lines += [(f"chargeoff:{kind}", amt), (f"receivable:{kind}", -amt)]
        return self.entry(account_id, "CHARGE_OFF", effective_on, posted_at, lines)

    def designate(
        self, account_id: int, vehicle_id: str, on: date, removed_on: date | None = None
    ) -> LedgerBuilder:
        self.designations.append(
            {
                "account_id": account_id,
                "vehicle_id": vehicle_id,
                "designated_on": on,
                "removed_on": removed_on,
            }
        )
        return self

    def close(self, period_end: date, closed_at: datetime) -> LedgerBuilder:
        self.closes.append({"period_end": period_end, "closed_at": closed_at})
        return self

    def dpd(
        self, account_id: int, as_of: date, days: int, past_due_cents: int = 2500
    ) -> LedgerBuilder:
        self.delinquency.append(
            {
                "account_id": account_id,
                "as_of": as_of,
                "days_past_due": days,
                "past_due_cents": past_due_cents,
            }
        )
        return self

    def batches(self):
        customers = pl.DataFrame(
            {
                "customer_id": [a["customer_id"] for a in self.accounts],
                "full_name": [f"Test Person {a['account_id']}" for a in self.accounts],
                "email": [f"person{a['account_id']}@example.com" for a in self.accounts],
            }
        )
        tables = [
            ("customers", customers),
            (
                "accounts",
                pl.DataFrame(
                    self.accounts,
                    schema_overrides={
                        "closed_on": pl.Date,
                        "close_reason": pl.String,
                        "origination_fico": pl.Int64,
                    },
                ),
            ),
            ("account_terms", pl.DataFrame(self.terms)),
            (
                "journal_entries",
                pl.DataFrame(
                    self.entries,
                    schema_overrides={
                        "reverses_entry_id": pl.Int64,
                        "posted_at": pl.Datetime("us"),
                    },
                ),
            ),
            ("postings", pl.DataFrame(self.postings)),
            (
                "vehicle_designations",
                pl.DataFrame(
                    self.designations,
                    schema={
                        "account_id": pl.Int64,
                        "vehicle_id": pl.String,
                        "designated_on": pl.Date,
                        "removed_on": pl.Date,
                    },
                ),
            ),
            (
                "period_closes",
                pl.DataFrame(
                    self.closes, schema={"period_end": pl.Date, "closed_at": pl.Datetime("us")}
                ),
            ),
            (
                "delinquency_snapshots",
                pl.DataFrame(
                    self.delinquency,
                    schema={
                        "account_id": pl.Int64,
                        "as_of": pl.Date,
                        "days_past_due": pl.Int64,
                        "past_due_cents": pl.Int64,
                    },
                ),
            ),
        ]
        return [(t, f) for t, f in tables if f.height]

    def write(self, url: str, finish: bool = True) -> str:
        writer = LedgerWriter(url)
        writer.create_schema()
        writer.load(self.batches())
        if finish:
            writer.finish()
        return url


def small_ledger() -> LedgerBuilder:
    """Three accounts designated to wh1, one purchase each, January closed."""
    b = LedgerBuilder()
    b.close(date(2025, 1, 31), datetime(2025, 2, 4, 18))
    for account in (1, 2, 3):
        b.account(account, date(2025, 1, 2))
        b.simple(account, "PURCHASE", 10_000, date(2025, 1, 5), datetime(2025, 1, 5, 12))
        b.designate(account, "wh1", date(2025, 1, 2))
    return b
