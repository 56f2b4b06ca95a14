"""The calendar of one simulated month and the accounts on the books at its start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np

from funding.demo.accounts import Accounts
from funding.demo.state import AccountState
from funding.demo.units import day_number
from funding.period import Period


@dataclass(frozen=True)
class Month:
    index: int  # 0 for the first reported month; history months are negative
    period: Period
    start_day: int  # day numbers
    end_day: int
    due_day: np.ndarray  # each account's payment due date this month
    months_on_book: np.ndarray
    opened: np.ndarray
    live: np.ndarray  # opened, not charged off and not closed when the month starts

    @classmethod
    def begin(cls, index: int, period: Period, accounts: Accounts, state: AccountState) -> Month:
        start_day, end_day = day_number(period.start), day_number(period.end)
        days_in_month = end_day - start_day + 1
        opened = accounts.open_month <= index
        return cls(
            index=index,
            period=period,
            start_day=start_day,
            end_day=end_day,
            due_day=start_day + np.minimum(accounts.cycle_day, days_in_month) - 1,
            months_on_book=index - accounts.open_month,
            opened=opened,
            live=opened & ~state.charged_off & (state.closed_day == 0),
        )

    @property
    def ends_quarter(self) -> bool:
        """March, June, September and December."""
        return self.period.month % 3 == 0


def close_time(period_end: date, rng_value: float) -> datetime:
    """Accounting close a few business days after the month end."""
    return datetime.combine(period_end + timedelta(days=4), time(17, 0)) + timedelta(
        minutes=int(rng_value * 180)
    )
