"""Designation of accounts to the funding vehicles: a warehouse and a trust.

Both vehicles close at the end of the first reported month and report from
the month after (their YAML files say `first_period_end` accordingly):

- the trust takes `TRUST_SHARE` of the eligible accounts at its closing:
  seasoned, open, not charged off, delinquent or not (as a master trust
  designates accounts, with their delinquent receivables); at each quarter
  end after it the seller adds eligible accounts (an add-on cut) worth
  `ADD_ON_SHARE` of the trust's principal at closing, and as much again as
  the trust fell below that size;
- the warehouse takes `WAREHOUSE_SHARE` of the seasoned accounts left at
  its closing and `NEW_ACCOUNT_SHARE` of the new accounts from their opening
  day on, so it grows (and draws on its facility) as new accounts build their
  balances; the other new accounts stay with the seller;
- the seller repurchases from the warehouse a few accounts that reach 60 or
  more days past due (`REPURCHASE_P` a month), as of the next month;
- a charged-off account leaves its vehicle once its recoveries have stopped
  (`RECOVERY_MONTHS` after the charge-off).

An account is in at most one vehicle at any date, and one that left a
vehicle is never designated again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from funding.demo.accounts import Accounts
from funding.demo.losses import RECOVERY_MONTHS
from funding.demo.month import Month
from funding.demo.state import AccountState
from funding.demo.units import to_date

TRUST_SHARE = 0.6
WAREHOUSE_SHARE = 1.0
NEW_ACCOUNT_SHARE = 1.0
SEASONED_MONTHS = 6  # months on book an account needs to be taken at a closing or add-on
ADD_ON_SHARE = 0.02
REPURCHASE_P = 0.05
REPURCHASE_DPD = 60


@dataclass
class DesignationBook:
    """Designation rows and, per account, the row still in force."""

    rows: list  # [account_id, vehicle_id, designated_on, removed_on or None]
    open_row: np.ndarray  # index into rows, -1 when undesignated
    vehicle: np.ndarray  # "" when undesignated
    ever: np.ndarray  # designated at some point (a removed account is not taken again)
    trust_at_closing: int = 0  # the trust's principal at its closing, cents

    @classmethod
    def empty(cls, accounts: int) -> DesignationBook:
        return cls(
            [], np.full(accounts, -1), np.full(accounts, "", dtype=object), np.zeros(accounts, bool)
        )

    def designate_month(
        self,
        rng: np.random.Generator,
        month: Month,
        accounts: Accounts,
        state: AccountState,
        vehicles: tuple[str, ...],
        dpd: np.ndarray,
    ) -> None:
        """The month's designations and removals (see the module doc)."""
        warehouse, trust = vehicles[0], vehicles[-1]
        m = month.index
        n = accounts.count
        if m < 0:
            return  # history: the vehicles close at the end of the first reported month
        new = np.flatnonzero(
            (accounts.open_month == m) & (self.vehicle == "") & (rng.random(n) < NEW_ACCOUNT_SHARE)
        )
        self._designate(accounts, new, warehouse, accounts.open_day[new])

        eligible = (
            month.live
            & ~state.charged_off
            & (state.closed_day == 0)
            & (month.months_on_book >= SEASONED_MONTHS)
            & ~self.ever
        )
        if m == 0:
            taken = np.flatnonzero(eligible & (rng.random(n) < TRUST_SHARE))
            self._designate(accounts, taken, trust, np.full(len(taken), month.end_day))
            self.trust_at_closing = int(state.principal[taken].sum())
            rest = np.flatnonzero(
                eligible & (self.vehicle == "") & (rng.random(n) < WAREHOUSE_SHARE)
            )
            self._designate(accounts, rest, warehouse, np.full(len(rest), month.end_day))
        elif month.ends_quarter:
            self._add_on(rng, month, accounts, state, trust, eligible)

        repurchased = np.flatnonzero(
            (self.vehicle == warehouse)
            & (dpd >= REPURCHASE_DPD)
            & ~state.charged_off
            & (rng.random(n) < REPURCHASE_P)
        )
        worked_out = np.flatnonzero(
            (self.vehicle != "")
            & state.charged_off
            & (m - state.charge_off_month >= RECOVERY_MONTHS)
        )
        self._remove(np.concatenate([repurchased, worked_out]), month.end_day + 1)

    def _add_on(
        self,
        rng: np.random.Generator,
        month: Month,
        accounts: Accounts,
        state: AccountState,
        trust: str,
        candidates: np.ndarray,
    ) -> None:
        """Eligible accounts, in random order, until their principal reaches
        the add-on's size."""
        principal = int(state.principal[self.vehicle == trust].sum())
        gap = max(self.trust_at_closing - principal, 0) + ADD_ON_SHARE * self.trust_at_closing
        pool = np.flatnonzero(candidates & (self.vehicle == "") & (state.principal > 0))
        order = pool[rng.permutation(len(pool))]
        taken = order[: int(np.searchsorted(np.cumsum(state.principal[order]), gap)) + 1]
        self._designate(accounts, taken, trust, np.full(len(taken), month.end_day))

    def _designate(
        self, accounts: Accounts, idx: np.ndarray, vehicle: str, on_days: np.ndarray
    ) -> None:
        for i, day in zip(idx, on_days, strict=True):
            self.rows.append([int(accounts.ids[i]), vehicle, to_date(day), None])
            self.open_row[i] = len(self.rows) - 1
            self.vehicle[i] = vehicle
            self.ever[i] = True

    def _remove(self, idx: np.ndarray, on_day: int) -> None:
        for i in idx:
            self.rows[self.open_row[i]][3] = to_date(on_day)
            self.open_row[i] = -1
            self.vehicle[i] = ""

    def table(self) -> pl.DataFrame:
        """The `vehicle_designations` batch."""
        return pl.DataFrame(
            self.rows,
            orient="row",
            schema={
                "account_id": pl.Int64,
                "vehicle_id": pl.String,
                "designated_on": pl.Date,
                "removed_on": pl.Date,
            },
        )
