"""The month's payments: who pays, cures, holds or misses; how much they pay;
the few payments that come back returned; and the delinquency count that moves.

Delinquency is counted in missed payments (`missed`) and dated by the oldest
unpaid due date (`first_missed_due`, from which days past due run):

- a current account that misses is 1 payment behind, its oldest unpaid due
  date this month's;
- a delinquent one that rolls misses again: one more behind, same oldest date;
- one that holds pays one month's minimum: as far behind as before, and its
  oldest unpaid due date moves a month on, so its days past due stay put;
- one that cures pays all it is behind;
- a returned payment is no payment: the account misses (or rolls) after all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from funding.demo.accounts import Accounts
from funding.demo.book import (
    CURE_P,
    FULL_PAYER,
    GRADE_MISS,
    HOLD_P,
    MIN_PAYER,
    MIN_PAYMENT,
    REVOLVER,
    SEASONING_MISS,
)
from funding.demo.entries import Entries
from funding.demo.month import Month
from funding.demo.scenario import Scenario
from funding.demo.state import AccountState
from funding.demo.units import next_due_day, rounded

RETURNED_PAYMENT_P = 0.004
OVERPAYMENT_P = 0.003


@dataclass(frozen=True)
class PaymentOutcome:
    minimum_due: np.ndarray  # this month's minimum payment, from the balance before paying
    went_late: np.ndarray  # missed this month's payment: newly delinquent or rolled a stage


@dataclass(frozen=True)
class _DelinquencyMoves:
    """Owing accounts' fate this month by delinquency stage: delinquent ones
    cure, hold or roll; current ones may newly miss."""

    cure: np.ndarray
    hold: np.ndarray
    roll: np.ndarray
    new_miss: np.ndarray


@dataclass(frozen=True)
class _Applied:
    """Payments applied to fees first, then interest, then principal."""

    amount: np.ndarray
    fees: np.ndarray
    interest: np.ndarray
    principal: np.ndarray


def take_payments(
    rng: np.random.Generator,
    month: Month,
    accounts: Accounts,
    state: AccountState,
    journal: Entries,
    story: Scenario,
) -> PaymentOutcome:
    """Payments on the due date (fees -> interest -> principal), returned payments
    a few days later, then each account's delinquency (see the module doc)."""
    total = state.balance()
    owes = month.live & (total > 0) & (accounts.open_month < month.index)
    min_due = np.minimum(
        np.maximum(MIN_PAYMENT, state.principal // 100 + state.interest + state.fees),
        np.maximum(total, 0),
    )
    moves = _delinquency_moves(rng, month, accounts, state, owes, story)
    pays = owes & ~moves.roll & ~moves.new_miss
    amount = _payment_amounts(rng, accounts, state, total, min_due, moves, pays)
    pays &= amount > 0
    to_fees = np.minimum(amount, np.maximum(state.fees, 0))
    to_int = np.minimum(amount - to_fees, np.maximum(state.interest, 0))
    applied = _Applied(amount, to_fees, to_int, amount - to_fees - to_int)

    payers = np.flatnonzero(pays)
    payment_ids = _post_payments(month, accounts, state, journal, payers, applied)
    # Grace period: an account that owed nothing, or paid its whole statement
    # balance, is not charged interest on this month's purchases.
    state.grace = month.live & ((total <= 0) | (pays & (amount >= total)))
    returned = _return_payments(rng, month, accounts, state, journal, payers, payment_ids, applied)
    moves = _without_returned_payments(moves, returned, state.missed)

    went_late = moves.roll | moves.new_miss
    held_due = next_due_day(state.first_missed_due, accounts.cycle_day)
    state.first_missed_due = np.where(
        moves.new_miss,
        month.due_day,
        np.where(moves.cure, 0, np.where(moves.hold, held_due, state.first_missed_due)),
    )
    state.missed = np.where(moves.cure, 0, np.where(went_late, state.missed + 1, state.missed))
    return PaymentOutcome(minimum_due=min_due, went_late=went_late)


def _without_returned_payments(
    moves: _DelinquencyMoves, returned: np.ndarray, missed: np.ndarray
) -> _DelinquencyMoves:
    """A returned payment undoes the cure or hold it would have made, and a
    current account whose payment came back has missed it."""
    return _DelinquencyMoves(
        cure=moves.cure & ~returned,
        hold=moves.hold & ~returned,
        roll=moves.roll | (returned & (missed > 0)),
        new_miss=moves.new_miss | (returned & (missed == 0)),
    )


def _delinquency_moves(
    rng: np.random.Generator,
    month: Month,
    accounts: Accounts,
    state: AccountState,
    owes: np.ndarray,
    story: Scenario,
) -> _DelinquencyMoves:
    n = accounts.count
    missed = state.missed
    miss_p = (
        GRADE_MISS[accounts.grade]
        * np.where(accounts.behaviour == MIN_PAYER, 2.0, 1.0)
        * _seasoning(month.months_on_book)
        * story.factor(month.index, "miss")
    )
    # One draw against cumulative thresholds: cure, else hold, else roll a stage.
    u = rng.random(n)
    stage = np.minimum(missed, 7)
    cure_p = CURE_P[stage] * story.factor(month.index, "cure")
    cure = owes & (missed > 0) & (u < cure_p)
    hold = owes & (missed > 0) & ~cure & (u < cure_p + HOLD_P[stage])
    roll = owes & (missed > 0) & ~cure & ~hold
    new_miss = owes & (missed == 0) & (rng.random(n) < miss_p)
    return _DelinquencyMoves(cure=cure, hold=hold, roll=roll, new_miss=new_miss)


def _seasoning(months_on_book: np.ndarray) -> np.ndarray:
    factor = np.full(len(months_on_book), SEASONING_MISS[-1][1])
    for upto, multiple in reversed(SEASONING_MISS[:-1]):
        factor = np.where(months_on_book <= upto, multiple, factor)
    return factor


def _payment_amounts(
    rng: np.random.Generator,
    accounts: Accounts,
    state: AccountState,
    total: np.ndarray,
    min_due: np.ndarray,
    moves: _DelinquencyMoves,
    pays: np.ndarray,
) -> np.ndarray:
    """What each paying account pays (0 for the rest): its behaviour's amount,
    all past due on a cure, the minimum on a hold, a little extra on an overpayment."""
    n = accounts.count
    behaviour = accounts.behaviour
    amount = np.where(
        behaviour == FULL_PAYER,
        total,
        np.where(
            behaviour == REVOLVER,
            np.maximum(min_due, rounded(total * rng.uniform(0.05, 0.4, n))),
            min_due,
        ),
    )
    amount = np.where(moves.cure, np.minimum(total, min_due * (state.missed + 1)), amount)
    amount = np.where(moves.hold, min_due, amount)
    overpay = pays & (behaviour == FULL_PAYER) & (rng.random(n) < OVERPAYMENT_P)
    amount = np.where(overpay, amount + rng.integers(100, 10_000, n), amount)
    return np.where(
        pays, np.minimum(amount, np.maximum(total, 0) + np.where(overpay, 10_000, 0)), 0
    )


def _post_payments(
    month: Month,
    accounts: Accounts,
    state: AccountState,
    journal: Entries,
    payers: np.ndarray,
    applied: _Applied,
) -> np.ndarray:
    """Post the payments of `payers`; returns their entry ids, in `payers` order
    (every payment has a cash line, so none is dropped)."""
    payment_ids = journal.add(
        "PAYMENT",
        accounts.ids[payers],
        month.due_day[payers],
        [
            ("cash:collections", applied.amount[payers]),
            ("receivable:fees", -applied.fees[payers]),
            ("receivable:interest", -applied.interest[payers]),
            ("receivable:principal", -applied.principal[payers]),
        ],
    )
    state.fees[payers] -= applied.fees[payers]
    state.interest[payers] -= applied.interest[payers]
    state.principal[payers] -= applied.principal[payers]
    return payment_ids


def _return_payments(
    rng: np.random.Generator,
    month: Month,
    accounts: Accounts,
    state: AccountState,
    journal: Entries,
    payers: np.ndarray,
    payment_ids: np.ndarray,
    applied: _Applied,
) -> np.ndarray:
    """Returned payments: the exact mirror of the payment, a few days later.
    Returns the mask (over all accounts) of those whose payment came back."""
    returned = rng.random(len(payers)) < RETURNED_PAYMENT_P
    r_idx = payers[returned]
    journal.add(
        "PAYMENT_REVERSAL",
        accounts.ids[r_idx],
        np.minimum(month.due_day[r_idx] + 3, month.end_day),
        [
            ("cash:collections", -applied.amount[r_idx]),
            ("receivable:fees", applied.fees[r_idx]),
            ("receivable:interest", applied.interest[r_idx]),
            ("receivable:principal", applied.principal[r_idx]),
        ],
        reverses=payment_ids[returned],
    )
    state.fees[r_idx] += applied.fees[r_idx]
    state.interest[r_idx] += applied.interest[r_idx]
    state.principal[r_idx] += applied.principal[r_idx]
    state.grace[r_idx] = False
    mask = np.zeros(accounts.count, bool)
    mask[r_idx] = True
    return mask
