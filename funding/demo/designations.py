"""Designation of accounts to the funding vehicles: a warehouse and a trust."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from funding.demo.accounts import Accounts
from funding.demo.month import Month
from funding.demo.state import AccountState
from funding.demo.units import to_date

TRUST_CUT_MONTHS = (2, 6, 10)  # indexes of the simulated months the trust takes accounts in


@dataclass
class DesignationBook:
    """Designation rows and, per account, the row still in force."""

    rows: list  # [account_id, vehicle_id, designated_on, removed_on or None]
    open_row: np.ndarray  # index into rows, -1 when undesignated
    vehicle: np.ndarray  # "" when undesignated

    @classmethod
    def empty(cls, accounts: int) -> DesignationBook:
        return cls([], np.full(accounts, -1), np.full(accounts, "", dtype=object))

    def designate_month(
        self,
        rng: np.random.Generator,
        month: Month,
        accounts: Accounts,
        state: AccountState,
        vehicles: tuple[str, ...],
    ) -> None:
        """Designations of the month: the warehouse takes half of new originations,
        the trust takes seasoned current undesignated accounts in cuts, and the
        warehouse removes accounts that went 60+ days past due."""
        warehouse, trust = vehicles[0], vehicles[-1]
        m = month.index
        n = accounts.count
        new = np.flatnonzero((accounts.open_month == m) & (rng.random(n) < 0.5))
        self._designate(accounts, new, warehouse, accounts.open_day[new])
        if m in TRUST_CUT_MONTHS:
            seasoned = np.flatnonzero(
                (accounts.open_month < m)
                & ~state.charged_off
                & (state.missed == 0)
                & (self.vehicle == "")
                & (rng.random(n) < 0.45)
            )
            self._designate(accounts, seasoned, trust, np.full(len(seasoned), month.start_day))
        bad = np.flatnonzero(
            (self.vehicle == warehouse)
            & (state.missed >= 2)
            & ~state.charged_off
            & (rng.random(n) < 0.25)
        )
        bad = bad[accounts.open_day[bad] < month.start_day]
        self._remove(bad, month.period.start)

    def _designate(
        self, accounts: Accounts, idx: np.ndarray, vehicle: str, on_days: np.ndarray
    ) -> None:
        for i, day in zip(idx, on_days, strict=True):
            self.rows.append([int(accounts.ids[i]), vehicle, to_date(day), None])
            self.open_row[i] = len(self.rows) - 1
            self.vehicle[i] = vehicle

    def _remove(self, idx: np.ndarray, on: date) -> None:
        for i in idx:
            self.rows[self.open_row[i]][3] = on
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
