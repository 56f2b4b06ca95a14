"""Account servicing at the month end: customers closing paid-up accounts,
credit line increases and decreases, repricing, and bureau score refreshes."""

from __future__ import annotations

import numpy as np
import polars as pl

from funding.demo.accounts import Accounts
from funding.demo.month import Month
from funding.demo.state import AccountState
from funding.demo.units import date_series, rounded

CUSTOMER_CLOSE_P = 0.006
LINE_INCREASE_P = 0.015
LINE_DECREASE_P = 0.2
REPRICE_P = 0.005


def close_paid_up_accounts(
    rng: np.random.Generator,
    month: Month,
    accounts: Accounts,
    state: AccountState,
    charged_off: np.ndarray,
) -> None:
    """A few customers close their zero-balance accounts at the month end."""
    n = accounts.count
    closes = (
        month.live
        & ~charged_off
        & (state.balance() == 0)
        & (accounts.open_month < month.index)
        & (rng.random(n) < CUSTOMER_CLOSE_P)
    )
    state.closed_day[closes] = month.end_day
    state.close_reason[closes] = "CUSTOMER"


def change_terms(
    rng: np.random.Generator,
    month: Month,
    accounts: Accounts,
    state: AccountState,
    charged_off: np.ndarray,
) -> pl.DataFrame | None:
    """Line increases for seasoned current accounts, line cuts (to the balance,
    never above the line) for accounts two or more payments behind, and a few
    APR moves, decided at the month end. The new terms take effect the next
    day, so this month's interest was billed on the terms in force. Returns
    their `account_terms` rows, if any."""
    n = accounts.count
    effective_day = month.end_day + 1
    eligible = month.live & ~charged_off & (state.closed_day == 0)
    limit, apr = state.credit_limit, state.apr
    up = (
        eligible
        & (state.missed == 0)
        & (month.months_on_book >= 6)
        & (rng.random(n) < LINE_INCREASE_P)
    )
    limit[up] = (np.rint(limit[up] * 1.25 / 10_000) * 10_000).astype(np.int64)
    down = eligible & (state.missed >= 2) & (rng.random(n) < LINE_DECREASE_P)
    cut_to = np.maximum(
        (np.ceil(np.maximum(state.principal, 0) / 10_000) * 10_000).astype(np.int64), 50_000
    )
    down &= cut_to < limit
    limit[down] = cut_to[down]
    reprice = eligible & (rng.random(n) < REPRICE_P)
    apr[reprice] = np.clip(apr[reprice] + rng.choice([-200, 200], int(reprice.sum())), 999, 3599)
    changed = np.flatnonzero(up | down | reprice)
    if not len(changed):
        return None
    return pl.DataFrame(
        {
            "account_id": accounts.ids[changed],
            "effective_on": date_series(np.full(len(changed), effective_day)),
            "credit_limit_cents": limit[changed],
            "purchase_apr_bps": apr[changed],
        }
    )


def refresh_scores(
    rng: np.random.Generator, month: Month, accounts: Accounts, state: AccountState
) -> pl.DataFrame:
    """New bureau scores for every opened account not charged off: the last
    score plus noise, less 35 points per month currently past due. Returns the
    `credit_scores` rows."""
    fresh = np.flatnonzero(month.opened & ~state.charged_off)
    state.score[fresh] = np.clip(
        state.score[fresh] + rounded(rng.normal(0, 12, len(fresh))) - 35 * state.missed[fresh],
        300,
        850,
    )
    return pl.DataFrame(
        {
            "account_id": accounts.ids[fresh],
            "as_of": date_series(np.full(len(fresh), month.end_day)),
            "fico": state.score[fresh],
            "score_model": "FICO8",
        }
    )
