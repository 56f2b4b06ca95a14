"""A synthetic ledger of a revolving credit book, deterministic for a seed.

Accounts open in monthly vintages: a seasoned back book from the four years
before the first reported month, then new originations every month. Each
month every live account pays (full payers, revolvers, minimum payers) or
misses, buys and returns, is billed interest and fees, rolls through
delinquency and charges off at 180 DPD (or earlier on bankruptcy or death),
and recovers afterwards. The simulation is vectorised over accounts with
numpy, one month at a time, and emits ledger rows month by month so a
million accounts fit in memory.

The simulation starts `history_months` before the first reported month, so
the book is seasoned when reporting starts; those months' entries are the
ledger's history, and only the reported months are closed (`period_closes`).
The first closed month's flows therefore hold that whole history, and the
funding vehicles take their accounts at its end (their closing) and report
from the month after (`designations`).

Every step draws from one random generator, so the order of the steps (and of
the draws within each) is part of the output: reordering them changes the ledger.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from funding.demo.accounts import Accounts, originate
from funding.demo.book import HISTORY_MONTHS
from funding.demo.charges import charge_annual_fees, charge_interest, charge_late_fees
from funding.demo.customers import customers
from funding.demo.designations import DesignationBook
from funding.demo.entries import Entries
from funding.demo.flags import FlagLog
from funding.demo.losses import charge_off, days_past_due, delinquency_snapshot, recover
from funding.demo.month import Month, close_time
from funding.demo.payments import take_payments
from funding.demo.purchases import buy_and_return
from funding.demo.scenario import Scenario, scenario
from funding.demo.servicing import change_terms, close_paid_up_accounts, refresh_scores
from funding.demo.state import AccountState
from funding.period import Period

Batch = tuple[str, pl.DataFrame]
# Share of a month's entries posted after its close.
LATE_POSTING_SHARE = 0.005


@dataclass(frozen=True)
class SeedConfig:
    accounts: int = 20_000
    months: int = 15
    first_period: Period = Period(2025, 1)
    seed: int = 16  # the demo's; see tests/funding/demo/test_realism.py
    vehicles: tuple[str, ...] = ("wh1", "trust1")
    scenario: str = "base"  # funding.demo.scenario.SCENARIOS
    history_months: int = HISTORY_MONTHS

    def __post_init__(self) -> None:
        if self.accounts < 1 or self.months < 1 or self.history_months < 0:
            raise ValueError("a demo ledger needs at least one account and one month")
        scenario(self.scenario)  # an unknown name is an error here, not halfway through


def generate(config: SeedConfig) -> Iterator[Batch]:
    """Yield (table, rows) batches in load order for the whole synthetic ledger."""
    rng = np.random.default_rng(config.seed)
    accounts = originate(
        rng, config.accounts, config.first_period, config.history_months, config.months
    )
    yield "customers", customers(rng, accounts)
    yield "account_terms", accounts.opening_terms()

    state = AccountState.at_origination(accounts)
    flags = FlagLog()
    designations = DesignationBook.empty(config.accounts)
    story = scenario(config.scenario)
    next_entry_id = 1
    for index in range(-config.history_months, config.months):
        period = config.first_period.plus(index)
        month = Month.begin(index, period, accounts, state)
        journal = Entries(next_entry_id)
        yield from _simulate_month(
            rng, month, accounts, state, journal, flags, designations, config.vehicles, story
        )
        next_entry_id = journal.next_id

    yield "accounts", accounts.table(state.closed_day, state.close_reason)
    yield "account_flags", flags.table()
    yield "vehicle_designations", designations.table()


def _simulate_month(
    rng: np.random.Generator,
    month: Month,
    accounts: Accounts,
    state: AccountState,
    journal: Entries,
    flags: FlagLog,
    designations: DesignationBook,
    vehicles: tuple[str, ...],
    story: Scenario,
) -> Iterator[Batch]:
    """One month's activity, in the order it is drawn, then the month's batches
    (a history month has no close)."""
    payments = take_payments(rng, month, accounts, state, journal, story)
    charge_late_fees(rng, month, accounts, state, journal, payments.went_late)
    charge_annual_fees(month, accounts, state, journal)
    buy_and_return(rng, month, accounts, state, journal, story)
    must_charge_off = flags.raise_flags(rng, month, accounts, state, story)
    charge_interest(rng, month, accounts, state, journal)

    dpd = days_past_due(month, state)
    charged_off = charge_off(month, accounts, state, journal, dpd, forced=must_charge_off)
    delinquency = delinquency_snapshot(month, accounts, state, dpd, payments.minimum_due)
    recover(rng, month, accounts, state, journal)

    close_paid_up_accounts(rng, month, accounts, state, charged_off)
    new_terms = change_terms(rng, month, accounts, state, charged_off)
    scores = refresh_scores(rng, month, accounts, state) if month.ends_quarter else None
    designations.designate_month(rng, month, accounts, state, vehicles, dpd)

    close_at = close_time(month.period.end, float(rng.random()))
    entries, postings = journal.frames(
        rng,
        np.datetime64(close_at, "us"),
        late_share=LATE_POSTING_SHARE,
        no_late_accounts=accounts.ids[charged_off],
    )
    yield "journal_entries", entries
    yield "postings", postings
    yield "delinquency_snapshots", delinquency
    if new_terms is not None:
        yield "account_terms", new_terms
    if scores is not None:
        yield "credit_scores", scores
    if month.index >= 0:
        yield (
            "period_closes",
            pl.DataFrame({"period_end": [month.period.end], "closed_at": [close_at]}),
        )
