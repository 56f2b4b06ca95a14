"""The month's card spending: purchases by current accounts, a few partly returned."""

from __future__ import annotations

import numpy as np

from funding.demo.accounts import Accounts
from funding.demo.book import FULL_PAYER
from funding.demo.entries import Entries
from funding.demo.month import Month
from funding.demo.scenario import Scenario
from funding.demo.state import AccountState
from funding.demo.units import rounded

RETURN_P = 0.05


def buy_and_return(
    rng: np.random.Generator,
    month: Month,
    accounts: Accounts,
    state: AccountState,
    journal: Entries,
    story: Scenario,
) -> None:
    """One purchase per buying account, within its open-to-buy; a few are
    partly returned, on or after the purchase day. Delinquent accounts cannot buy."""
    n = accounts.count
    can_buy = month.live & (state.missed == 0)
    buy_p = np.where(accounts.behaviour == FULL_PAYER, 0.9, 0.8) * story.factor(
        month.index, "purchases"
    )
    buys = can_buy & (rng.random(n) < buy_p)
    spend = rounded(state.credit_limit * rng.uniform(0.02, 0.3, n))
    spend = np.minimum(spend, np.maximum(state.credit_limit - state.balance(), 0))
    buys &= spend > 0
    b_idx = np.flatnonzero(buys)
    buy_day = np.maximum(month.start_day, accounts.open_day[b_idx]) + rng.integers(
        0, 28, len(b_idx)
    )
    buy_day = np.minimum(buy_day, month.end_day)
    journal.add(
        "PURCHASE",
        accounts.ids[b_idx],
        buy_day,
        [("receivable:principal", spend[b_idx]), ("merchant:settlement", -spend[b_idx])],
    )
    state.principal[b_idx] += spend[b_idx]
    returns = rng.random(len(b_idx)) < RETURN_P
    rt = b_idx[returns]
    ret_amt = rounded(spend[rt] * rng.uniform(0.1, 0.6, len(rt)))
    return_day = np.minimum(buy_day[returns] + rng.integers(1, 15, len(rt)), month.end_day)
    journal.add(
        "RETURN",
        accounts.ids[rt],
        return_day,
        [("receivable:principal", -ret_amt), ("merchant:settlement", ret_amt)],
    )
    state.principal[rt] -= ret_amt
