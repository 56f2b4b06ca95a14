"""The bitemporal rule of the ledger contract on tiny hand-written ledgers,
on SQLite and on a real PostgreSQL server (same rows, same results)."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from funding.ledger.closes import LedgerError, require_close
from funding.ledger.database import read_ledger
from funding.ledger.extract import extract_periods
from funding.period import Period
from tests.support.ledger_builder import LedgerBuilder

JAN, FEB, MAR = date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)
CLOSE = {
    JAN: datetime(2026, 2, 4, 18, 0),
    FEB: datetime(2026, 3, 4, 18, 0),
    MAR: datetime(2026, 4, 3, 18, 0),
}


def snapshots(url: str) -> dict[date, pl.DataFrame]:
    with read_ledger(url) as session:
        return {close.period_end: snapshot for close, snapshot in extract_periods(session)}


def row(snapshot: pl.DataFrame, account_id: int) -> dict:
    return snapshot.filter(pl.col("account_id") == account_id).to_dicts()[0]


def book() -> LedgerBuilder:
    b = LedgerBuilder()
    for period_end, closed_at in CLOSE.items():
        b.close(period_end, closed_at)
    b.account(1, date(2026, 1, 3))
    return b


def test_late_posting_lands_in_next_periods_flows(ledger_url):
    b = book()
    b.simple(1, "PURCHASE", 10_000, date(2026, 1, 10), datetime(2026, 1, 10, 12))
    # Effective in January, posted after January's close: counts from February.
    b.simple(1, "PURCHASE", 2_500, date(2026, 1, 30), datetime(2026, 2, 5, 9, 30))
    snaps = snapshots(b.write(ledger_url))
    jan, feb = row(snaps[JAN], 1), row(snaps[FEB], 1)
    assert jan["purchases_cents"] == 10_000 and jan["principal_cents"] == 10_000
    assert feb["purchases_cents"] == 2_500
    assert feb["begin_principal_cents"] == 10_000 and feb["principal_cents"] == 12_500


def test_posting_dated_after_the_period_counts_only_when_effective(ledger_url):
    b = book()
    # Posted in January for a date in February: not in January, in February's flows.
    b.simple(1, "FEE_CHARGE", 900, date(2026, 2, 2), datetime(2026, 1, 28, 8))
    snaps = snapshots(b.write(ledger_url))
    assert row(snaps[JAN], 1)["fees_cents"] == 0
    assert row(snaps[FEB], 1)["fees_billed_cents"] == 900


def test_payment_reversal_nets_out(ledger_url):
    b = book()
    b.simple(1, "PURCHASE", 50_000, date(2026, 1, 5), datetime(2026, 1, 5, 10))
    b.simple(1, "FEE_CHARGE", 1_000, date(2026, 1, 6), datetime(2026, 1, 6, 10))
    paid = b.payment(1, date(2026, 1, 20), datetime(2026, 1, 20, 10), fees=1_000, principal=9_000)
    b.reversal(paid, date(2026, 1, 24), datetime(2026, 1, 24, 10))
    jan = row(snapshots(b.write(ledger_url))[JAN], 1)
    assert jan["principal_collections_cents"] == 0 and jan["fee_collections_cents"] == 0
    assert (jan["principal_cents"], jan["fees_cents"]) == (50_000, 1_000)


def test_overpayment_gives_a_credit_balance(ledger_url):
    b = book()
    b.simple(1, "PURCHASE", 4_000, date(2026, 1, 5), datetime(2026, 1, 5, 10))
    b.payment(1, date(2026, 1, 25), datetime(2026, 1, 25, 10), principal=5_000)
    jan = row(snapshots(b.write(ledger_url))[JAN], 1)
    assert jan["principal_cents"] == -1_000
    assert jan["is_active"] is True and jan["status"] == "OPEN"


def test_charge_off_zeroes_the_receivable_and_sets_status(ledger_url):
    b = book()
    b.simple(1, "PURCHASE", 30_000, date(2026, 1, 5), datetime(2026, 1, 5, 10))
    b.simple(1, "INTEREST_CHARGE", 700, date(2026, 1, 31), datetime(2026, 2, 1, 1))
    b.dpd(1, FEB, 185)
    b.charge_off(
        1,
        date(2026, 2, 27),
        datetime(2026, 2, 27, 23, 59, 59, 500_000),
        principal=30_000,
        interest=700,
    )
    b.simple(1, "RECOVERY", 1_200, date(2026, 3, 15), datetime(2026, 3, 15, 10))
    snaps = snapshots(b.write(ledger_url))
    feb, mar = row(snaps[FEB], 1), row(snaps[MAR], 1)
    assert feb["status"] == "CHARGED_OFF" and feb["delinquency_bucket"] == "charged_off"
    assert feb["days_past_due"] == 185
    assert (feb["principal_cents"], feb["interest_cents"], feb["total_cents"]) == (0, 0, 0)
    assert (feb["chargeoff_principal_cents"], feb["chargeoff_interest_cents"]) == (30_000, 700)
    assert mar["status"] == "CHARGED_OFF" and mar["recoveries_cents"] == 1_200
    assert mar["is_active"] is True  # a recovery is a flow of March
    assert feb["posted_after_chargeoff"] is False and mar["posted_after_chargeoff"] is False


def test_receivable_posting_after_charge_off_is_flagged(ledger_url):
    b = book()
    b.simple(1, "PURCHASE", 30_000, date(2026, 1, 5), datetime(2026, 1, 5, 10))
    b.charge_off(1, date(2026, 1, 31), datetime(2026, 2, 1, 2), principal=30_000)
    b.simple(1, "FEE_CHARGE", 2_900, date(2026, 2, 10), datetime(2026, 2, 10, 10))
    snaps = snapshots(b.write(ledger_url))
    assert row(snaps[FEB], 1)["posted_after_chargeoff"] is True
    assert row(snaps[FEB], 1)["fees_cents"] == 2_900  # balances still follow the postings


def test_designation_add_and_remove(ledger_url):
    b = book()
    b.account(2, date(2026, 1, 3))
    for account in (1, 2):
        b.simple(account, "PURCHASE", 10_000 * account, date(2026, 1, 5), datetime(2026, 1, 5, 10))
    b.designate(1, "wh1", date(2026, 1, 3), removed_on=date(2026, 2, 15))
    b.designate(1, "trust1", date(2026, 2, 15))
    b.designate(2, "trust1", date(2026, 2, 1))
    snaps = snapshots(b.write(ledger_url))
    jan, feb = snaps[JAN], snaps[FEB]
    assert row(jan, 1)["vehicle_id"] == "wh1" and row(jan, 2)["vehicle_id"] is None
    assert (row(feb, 1)["prev_vehicle_id"], row(feb, 1)["vehicle_id"]) == ("wh1", "trust1")
    assert (row(feb, 2)["prev_vehicle_id"], row(feb, 2)["vehicle_id"]) == (None, "trust1")
    # Additions and removals carry the balances at P-1.
    assert row(feb, 1)["begin_principal_cents"] == 10_000
    assert row(feb, 2)["begin_principal_cents"] == 20_000


def test_months_on_book_and_terms_as_of_period_end(ledger_url):
    b = book()
    b.terms.append(
        {
            "account_id": 1,
            "effective_on": date(2026, 2, 15),
            "credit_limit_cents": 900_000,
            "purchase_apr_bps": 2799,
        }
    )
    b.simple(1, "PURCHASE", 100, date(2026, 1, 5), datetime(2026, 1, 5, 10))
    snaps = snapshots(b.write(ledger_url))
    assert row(snaps[JAN], 1)["months_on_book"] == 0 and row(snaps[MAR], 1)["months_on_book"] == 2
    assert row(snaps[JAN], 1)["credit_limit_cents"] == 500_000
    assert row(snaps[FEB], 1)["credit_limit_cents"] == 900_000


def test_unclosed_period_is_refused(sqlite_url):
    b = book()
    b.simple(1, "PURCHASE", 100, date(2026, 1, 5), datetime(2026, 1, 5, 10))
    with read_ledger(b.write(sqlite_url)) as session:
        closes = session.period_closes()
    with pytest.raises(LedgerError, match="2026-04.*not closed"):
        require_close(closes, Period(2026, 4))


def test_same_results_on_both_engines(sqlite_url, postgres_url):
    """A generated ledger gives identical snapshots on SQLite and PostgreSQL."""
    from funding.demo import SeedConfig, seed_ledger

    config = SeedConfig(accounts=300, months=4)
    seed_ledger(sqlite_url, config)
    seed_ledger(postgres_url, config)
    lite, pg = snapshots(sqlite_url), snapshots(postgres_url)
    assert list(lite) == list(pg)
    for period_end in lite:
        assert lite[period_end].equals(pg[period_end]), period_end


def test_sqlite_timestamps_in_mixed_text_forms_compare_as_timestamps(sqlite_url):
    """The cutoff is 2026-02-04 18:00:00; postings in other text forms either
    side of it count or not by time, never by text order."""
    import sqlite3

    b = book()
    at_cutoff = b.simple(1, "PURCHASE", 100, date(2026, 1, 10), datetime(2026, 1, 10))
    before = b.simple(1, "PURCHASE", 200, date(2026, 1, 10), datetime(2026, 1, 10))
    after = b.simple(1, "PURCHASE", 400, date(2026, 1, 10), datetime(2026, 1, 10))
    path = b.write(sqlite_url).removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        for entry_id, text in (
            (at_cutoff, "2026-02-04T18:00:00"),  # 'T' sorts after ' ' as text
            (before, "2026-02-04 17:59:59.999"),
            (after, "2026-02-04 18:00:00.5"),
        ):
            conn.execute(
                "UPDATE journal_entries SET posted_at = ? WHERE entry_id = ?", (text, entry_id)
            )
        conn.execute(
            "UPDATE period_closes SET closed_at = '2026-02-04 18:00:00' WHERE period_end = '2026-01-31'"
        )
    snaps = snapshots(sqlite_url)
    assert row(snaps[JAN], 1)["purchases_cents"] == 300
    assert row(snaps[FEB], 1)["purchases_cents"] == 400
