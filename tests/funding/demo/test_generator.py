"""The synthetic demo ledger behaves like a card book: each rule below was a
defect once (grace period, terms, line cuts, days past due while paying,
returned payments, returns, flags, designations, SSNs). Every test reads the
generated ledger rows, as the ledger's consumers would, and recomputes what
it checks independently of the generator's own state."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from fractions import Fraction

import numpy as np
import polars as pl
import pytest

from funding.demo import SeedConfig, generate
from funding.demo.accounts import originate
from funding.demo.month import Month
from funding.demo.servicing import change_terms
from funding.demo.state import AccountState
from funding.period import Period


@pytest.fixture(scope="module")
def ledger() -> dict[str, pl.DataFrame]:
    tables: dict[str, list[pl.DataFrame]] = defaultdict(list)
    for name, frame in generate(SeedConfig(accounts=2500, months=8, seed=11)):
        tables[name].append(frame)
    return {name: pl.concat(frames, how="vertical_relaxed") for name, frames in tables.items()}


@pytest.fixture(scope="module")
def lines(ledger) -> pl.DataFrame:
    """Posting lines with their entry's account, type and dates."""
    entries = ledger["journal_entries"].select(
        "entry_id", "account_id", "entry_type", "effective_on", "reverses_entry_id"
    )
    return ledger["postings"].join(entries, on="entry_id")


def _month_end(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def test_interest_is_billed_on_the_terms_in_force_and_not_in_a_grace_period(ledger, lines):
    """Interest at a month end = principal x APR / 12, APR from `account_terms`
    as of that day, rounded half to even; no interest for an account that owed
    nothing at the month's start or paid its whole balance in the month."""
    interest = lines.filter(
        (pl.col("entry_type") == "INTEREST_CHARGE")
        & (pl.col("gl_account") == "receivable:interest")
    )
    assert interest.height > 1000
    principal = lines.filter(pl.col("gl_account") == "receivable:principal")
    terms = ledger["account_terms"].sort("account_id", "effective_on")
    checked = 0
    for row in interest.sample(400, seed=1).iter_rows(named=True):
        account, day = row["account_id"], row["effective_on"]
        mine = principal.filter(pl.col("account_id") == account)
        # the principal interest is billed on: everything up to the month end but that day's charge-off
        balance = int(
            mine.filter((pl.col("effective_on") <= day) & (pl.col("entry_type") != "CHARGE_OFF"))[
                "amount_cents"
            ].sum()
        )
        apr = (
            terms.filter((pl.col("account_id") == account) & (pl.col("effective_on") <= day))
            .tail(1)["purchase_apr_bps"]
            .item()
        )
        exact = Fraction(balance * apr, 12 * 10_000)
        whole, rest = divmod(exact.numerator, exact.denominator)
        half_even = whole + (
            1
            if 2 * rest > exact.denominator or (2 * rest == exact.denominator and whole % 2)
            else 0
        )
        assert row["amount_cents"] == half_even, (account, day, balance, apr)
        checked += 1
    assert checked == 400

    # Grace: owed nothing when the month started, or paid at least what was owed.
    everything = lines.filter(pl.col("gl_account").str.starts_with("receivable:"))
    owed = (
        everything.join(
            interest.select("account_id", pl.col("effective_on").alias("billed_on")),
            on="account_id",
        )
        .filter(pl.col("effective_on") < pl.col("billed_on").dt.month_start())
        .group_by("account_id", "billed_on")
        .agg(pl.col("amount_cents").sum().alias("owed"))
    )
    paid = (
        lines.filter(
            pl.col("entry_type").is_in(["PAYMENT", "PAYMENT_REVERSAL"])
            & (pl.col("gl_account") == "cash:collections")
        )
        .with_columns(pl.col("effective_on").dt.month_end().alias("billed_on"))
        .group_by("account_id", "billed_on")
        .agg(pl.col("amount_cents").sum().alias("paid"))
    )
    billed = (
        interest.select("account_id", pl.col("effective_on").alias("billed_on"))
        .join(owed, on=["account_id", "billed_on"], how="left")
        .join(paid, on=["account_id", "billed_on"], how="left")
        .with_columns(pl.col("owed", "paid").fill_null(0))
    )
    in_grace = billed.filter((pl.col("owed") <= 0) | (pl.col("paid") >= pl.col("owed")))
    assert in_grace.height == 0, in_grace.head()


def test_a_line_never_rises_for_an_account_past_due_and_a_cut_never_raises_it(ledger):
    terms = ledger["account_terms"].sort("account_id", "effective_on")
    changes = terms.with_columns(
        pl.col("credit_limit_cents").shift(1).over("account_id").alias("before")
    ).filter(pl.col("before").is_not_null() & (pl.col("credit_limit_cents") != pl.col("before")))
    delinquent = ledger["delinquency_snapshots"].select(
        "account_id", (pl.col("as_of") + pl.duration(days=1)).alias("effective_on"), "days_past_due"
    )
    decided = changes.join(delinquent, on=["account_id", "effective_on"], how="left")
    raised = decided.filter(pl.col("credit_limit_cents") > pl.col("before"))
    cut = decided.filter(pl.col("credit_limit_cents") < pl.col("before"))
    assert raised.height > 0 and cut.height > 0
    assert raised["days_past_due"].null_count() == raised.height  # raised only when current
    assert cut["days_past_due"].min() >= 30  # cut only two payments behind (30+ days)


def test_a_line_cut_of_an_account_over_its_limit_keeps_the_limit():
    """An account two payments behind whose principal is above its line (a
    payment came back after a purchase) is cut to its balance only if that
    is lower: the cut never raises the line."""
    rng = np.random.default_rng(5)
    accounts = originate(rng, 400, Period(2025, 1), 0, 1)
    state = AccountState.at_origination(accounts)
    state.missed[:] = 2
    state.principal[:] = state.credit_limit + 25_000
    before = state.credit_limit.copy()
    month = Month.begin(0, Period(2025, 1), accounts, state)
    rows = change_terms(rng, month, accounts, state, np.zeros(accounts.count, bool))
    assert rows is not None and rows.height > 0  # some APRs moved
    assert (state.credit_limit <= before).all()
    assert (
        rows["credit_limit_cents"].to_numpy() <= before[rows["account_id"].to_numpy() - 1]
    ).all()


def test_days_past_due_hold_while_paying_and_grow_a_month_while_not(ledger, lines):
    snapshots = ledger["delinquency_snapshots"].sort("account_id", "as_of")
    payments = (
        lines.filter(
            pl.col("entry_type").is_in(["PAYMENT", "PAYMENT_REVERSAL"])
            & (pl.col("gl_account") == "cash:collections")
        )
        .group_by("account_id", pl.col("effective_on").dt.month_end().alias("as_of"))
        .agg(pl.col("amount_cents").sum().alias("paid"))
    )
    pairs = (
        snapshots.with_columns(
            pl.col("as_of").shift(1).over("account_id").alias("before_on"),
            pl.col("days_past_due").shift(1).over("account_id").alias("before"),
        )
        .filter(pl.col("before_on").is_not_null())
        .filter(pl.col("before_on").dt.offset_by("1mo").dt.month_end() == pl.col("as_of"))
        .join(payments, on=["account_id", "as_of"], how="left")
        .with_columns(pl.col("paid").fill_null(0), pl.col("as_of").dt.day().alias("days"))
    )
    paying = pairs.filter(pl.col("paid") > 0)
    not_paying = pairs.filter(pl.col("paid") <= 0)
    assert paying.height > 50 and not_paying.height > 200
    # Paying a month's minimum keeps the oldest unpaid due date a month on: the
    # days past due move by the difference of the month lengths, at most 3.
    assert (paying["days_past_due"] - paying["before"]).max() <= 3
    assert (not_paying["days_past_due"] - not_paying["before"] == not_paying["days"]).all()


def test_a_returned_payment_leaves_the_account_past_due(ledger, lines):
    cash = lines.filter(pl.col("gl_account") == "cash:collections")
    reversed_ids = set(cash.filter(pl.col("entry_type") == "PAYMENT_REVERSAL")["reverses_entry_id"])
    payments = cash.filter(pl.col("entry_type") == "PAYMENT").with_columns(
        pl.col("entry_id").is_in(list(reversed_ids)).alias("returned"),
        pl.col("effective_on").dt.month_end().alias("as_of"),
    )
    # accounts whose every payment of the month came back
    returned = (
        payments.group_by("account_id", "as_of").agg(pl.col("returned").all()).filter("returned")
    )
    charged_off = set(
        lines.filter(pl.col("entry_type") == "CHARGE_OFF")["account_id"].unique().to_list()
    )
    returned = returned.filter(~pl.col("account_id").is_in(list(charged_off)))
    assert returned.height > 5
    late = returned.join(ledger["delinquency_snapshots"], on=["account_id", "as_of"], how="left")
    assert late["days_past_due"].null_count() == 0, late.filter(pl.col("days_past_due").is_null())
    assert late["days_past_due"].min() >= 1


def test_returns_follow_a_purchase_of_the_same_month(lines):
    kinds = lines.filter(
        pl.col("entry_type").is_in(["PURCHASE", "RETURN"])
        & (pl.col("gl_account") == "receivable:principal")
    ).with_columns(pl.col("effective_on").dt.month_end().alias("month"))
    first_purchase = (
        kinds.filter(pl.col("entry_type") == "PURCHASE")
        .group_by("account_id", "month")
        .agg(pl.col("effective_on").min().alias("bought_on"))
    )
    returns = kinds.filter(pl.col("entry_type") == "RETURN").join(
        first_purchase, on=["account_id", "month"], how="left"
    )
    assert returns.height > 20
    assert returns["bought_on"].null_count() == 0
    assert (returns["effective_on"] >= returns["bought_on"]).all()


def test_flags_are_raised_while_the_account_is_open(ledger):
    flags = ledger["account_flags"].join(
        ledger["accounts"].select("account_id", "opened_on"), on="account_id"
    )
    assert flags.height > 20
    early = flags.filter(pl.col("raised_on") < pl.col("opened_on"))
    assert early.height == 0, early


def test_designations_remove_only_accounts_60_days_past_due_or_charged_off(ledger, lines):
    removed = ledger["vehicle_designations"].filter(pl.col("removed_on").is_not_null())
    assert removed.height > 0
    dpd = ledger["delinquency_snapshots"].select(
        "account_id", (pl.col("as_of") + pl.duration(days=1)).alias("removed_on"), "days_past_due"
    )
    charged = (
        lines.filter(pl.col("entry_type") == "CHARGE_OFF")
        .group_by("account_id")
        .agg(pl.col("effective_on").min().alias("charged_off_on"))
    )
    why = removed.join(dpd, on=["account_id", "removed_on"], how="left").join(
        charged, on="account_id", how="left"
    )
    for row in why.iter_rows(named=True):
        if row["charged_off_on"] is not None and row["charged_off_on"] < row["removed_on"]:
            # reassigned once recoveries stopped: 18 months after the charge-off
            assert (row["removed_on"] - row["charged_off_on"]).days >= 18 * 28
        else:
            assert row["vehicle_id"] == "wh1" and row["days_past_due"] >= 60, row


def test_charged_off_accounts_leave_their_vehicle_once_recoveries_stop():
    tables: dict[str, list[pl.DataFrame]] = defaultdict(list)
    # 22 months: charge-offs of the first four are 18 months old by the end
    for name, frame in generate(SeedConfig(accounts=800, months=22, seed=3)):
        if name in ("vehicle_designations", "journal_entries"):
            tables[name].append(frame)
    designations = pl.concat(tables["vehicle_designations"])
    entries = pl.concat(tables["journal_entries"])
    charge_offs = entries.filter(
        (pl.col("entry_type") == "CHARGE_OFF") & (pl.col("effective_on") <= date(2025, 4, 30))
    ).select("account_id", pl.col("effective_on").alias("charged_off_on"))
    designated = charge_offs.join(designations, on="account_id").filter(
        pl.col("designated_on") <= pl.col("charged_off_on")
    )
    assert designated.height > 0
    assert designated["removed_on"].null_count() == 0


def test_ssns_are_unique_beyond_ten_thousand_customers():
    frame = next(
        rows
        for name, rows in generate(SeedConfig(accounts=25_000, months=1))
        if name == "customers"
    )
    assert frame["ssn"].n_unique() == 25_000
    assert frame.filter(pl.col("customer_id").is_in([1, 10_001]))["ssn"].to_list() == [
        "900-00-0001",
        "900-01-0001",
    ]


def test_only_reported_months_are_closed_and_history_comes_before_them(ledger):
    closes = ledger["period_closes"]["period_end"].to_list()
    assert closes == [_month_end(date(2025, m, 1)) for m in range(1, 9)]
    first = ledger["journal_entries"]["effective_on"].min()
    assert first < date(2024, 2, 1)  # twelve months of history before the first close
