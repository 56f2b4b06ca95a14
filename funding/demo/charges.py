"""What the month bills: late fees (some waived), annual fees, and interest
on the revolving balance (some waived for delinquent accounts)."""

from __future__ import annotations

import numpy as np

from funding.demo.accounts import Accounts
from funding.demo.book import ANNUAL_FEE, LATE_FEE
from funding.demo.entries import Entries
from funding.demo.month import Month
from funding.demo.state import AccountState
from funding.demo.units import rounded

LATE_FEE_WAIVER_P = 0.05
INTEREST_WAIVER_P = 0.05


def charge_late_fees(
    rng: np.random.Generator,
    month: Month,
    accounts: Accounts,
    state: AccountState,
    journal: Entries,
    went_late: np.ndarray,
) -> None:
    """A late fee the day after a missed due date; a few are waived days later."""
    late = np.flatnonzero(went_late)
    journal.add(
        "FEE_CHARGE",
        accounts.ids[late],
        np.minimum(month.due_day[late] + 1, month.end_day),
        [("receivable:fees", LATE_FEE), ("income:fees", -LATE_FEE)],
    )
    state.fees[late] += LATE_FEE
    waive = late[rng.random(len(late)) < LATE_FEE_WAIVER_P]
    journal.add(
        "WAIVER",
        accounts.ids[waive],
        np.minimum(month.due_day[waive] + 5, month.end_day),
        [("receivable:fees", -LATE_FEE), ("income:fees", LATE_FEE)],
    )
    state.fees[waive] -= LATE_FEE


def charge_annual_fees(
    month: Month, accounts: Accounts, state: AccountState, journal: Entries
) -> None:
    """The CL_PLUS annual fee on each anniversary of opening, on the due date."""
    mob = month.months_on_book
    annual = np.flatnonzero(
        month.live & (accounts.product == "CL_PLUS") & (mob > 0) & (mob % 12 == 0)
    )
    journal.add(
        "FEE_CHARGE",
        accounts.ids[annual],
        month.due_day[annual],
        [("receivable:fees", ANNUAL_FEE), ("income:fees", -ANNUAL_FEE)],
    )
    state.fees[annual] += ANNUAL_FEE


def charge_interest(
    rng: np.random.Generator,
    month: Month,
    accounts: Accounts,
    state: AccountState,
    journal: Entries,
) -> None:
    """Interest on the revolving principal, billed at the month end; none in
    a grace period (nothing owed, or the statement balance paid in full)."""
    revolving = (
        month.live & ~state.grace & (state.principal > 0) & (accounts.open_month < month.index)
    )
    interest = np.where(revolving, rounded(state.principal * state.apr / 12 / 10_000), 0)
    i_idx = np.flatnonzero(interest > 0)
    journal.add(
        "INTEREST_CHARGE",
        accounts.ids[i_idx],
        np.full(len(i_idx), month.end_day),
        [("receivable:interest", interest[i_idx]), ("income:interest", -interest[i_idx])],
    )
    state.interest[i_idx] += interest[i_idx]
    # Goodwill and hardship interest waivers on a small share of delinquent accounts.
    iw = i_idx[(state.missed[i_idx] > 0) & (rng.random(len(i_idx)) < INTEREST_WAIVER_P)]
    journal.add(
        "WAIVER",
        accounts.ids[iw],
        np.full(len(iw), month.end_day),
        [("receivable:interest", -interest[iw]), ("income:interest", interest[iw])],
    )
    state.interest[iw] -= interest[iw]
