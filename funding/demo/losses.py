"""Delinquency at the month end, charge-off at 180 DPD (or earlier on bankruptcy
or death), and recoveries on accounts charged off in earlier months."""

from __future__ import annotations

import numpy as np
import polars as pl

from funding.demo.accounts import Accounts
from funding.demo.book import CHARGE_OFF_DPD
from funding.demo.entries import Entries
from funding.demo.month import Month
from funding.demo.state import AccountState
from funding.demo.units import date_series, rounded

RECOVERY_P = 0.35
RECOVERY_MONTHS = 18  # recoveries stop this many months after the charge-off


def days_past_due(month: Month, state: AccountState) -> np.ndarray:
    """Days past due at the month end, counted from the oldest unpaid due date."""
    return np.where(month.live & (state.missed > 0), month.end_day - state.first_missed_due + 1, 0)


def delinquency_snapshot(
    month: Month,
    accounts: Accounts,
    state: AccountState,
    dpd: np.ndarray,
    minimum_due: np.ndarray,
) -> pl.DataFrame:
    """The `delinquency_snapshots` batch: every account past due at the month end,
    those charged off today included."""
    snap = np.flatnonzero(dpd > 0)
    return pl.DataFrame(
        {
            "account_id": accounts.ids[snap],
            "as_of": date_series(np.full(len(snap), month.end_day)),
            "days_past_due": dpd[snap],
            "past_due_cents": minimum_due[snap] * np.maximum(state.missed[snap], 1),
        }
    )


def charge_off(
    month: Month,
    accounts: Accounts,
    state: AccountState,
    journal: Entries,
    dpd: np.ndarray,
    forced: np.ndarray,
) -> np.ndarray:
    """Charge off, at the month end, live accounts at 180 DPD and the `forced`
    ones; the whole balance moves to the charge-off accounts and the account
    closes. Returns the mask of accounts charged off."""
    co = month.live & ((dpd >= CHARGE_OFF_DPD) | forced)
    c_idx = np.flatnonzero(co)
    journal.add(
        "CHARGE_OFF",
        accounts.ids[c_idx],
        np.full(len(c_idx), month.end_day),
        [
            ("chargeoff:principal", state.principal[c_idx]),
            ("receivable:principal", -state.principal[c_idx]),
            ("chargeoff:interest", state.interest[c_idx]),
            ("receivable:interest", -state.interest[c_idx]),
            ("chargeoff:fees", state.fees[c_idx]),
            ("receivable:fees", -state.fees[c_idx]),
        ],
    )
    state.charged_off_principal[c_idx] = state.principal[c_idx]
    state.principal[c_idx] = 0
    state.interest[c_idx] = 0
    state.fees[c_idx] = 0
    state.charged_off |= co
    state.charge_off_month[c_idx] = month.index
    state.closed_day[c_idx] = month.end_day
    state.close_reason[c_idx] = "CHARGE_OFF"
    return co


def recover(
    rng: np.random.Generator,
    month: Month,
    accounts: Accounts,
    state: AccountState,
    journal: Entries,
) -> None:
    """Recoveries of a few percent of the charged-off principal, in the months
    after the charge-off."""
    n = accounts.count
    since_charge_off = month.index - state.charge_off_month
    rec = (
        state.charged_off
        & (state.charge_off_month < month.index)
        & (since_charge_off <= RECOVERY_MONTHS)
        & (state.charged_off_principal > 0)
        & (rng.random(n) < RECOVERY_P)
    )
    rec_idx = np.flatnonzero(rec)
    rec_amt = np.maximum(
        rounded(state.charged_off_principal[rec_idx] * rng.uniform(0.005, 0.035, len(rec_idx))),
        100,
    )
    journal.add(
        "RECOVERY",
        accounts.ids[rec_idx],
        month.start_day + rng.integers(0, 28, len(rec_idx)),
        [("cash:collections", rec_amt), ("income:recoveries", -rec_amt)],
    )
