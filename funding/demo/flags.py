"""Account flags: bankruptcy and death (which force an early charge-off), and
hardship, disputes and SCRA protection (which clear on their own, SCRA never)."""

from __future__ import annotations

import numpy as np
import polars as pl

from funding.demo.accounts import Accounts
from funding.demo.book import GRADE_BANKRUPTCY
from funding.demo.month import Month
from funding.demo.scenario import Scenario
from funding.demo.state import AccountState
from funding.demo.units import date_series, to_date

# (flag, monthly probability, months until cleared; 0 = stays raised)
_SELF_CLEARING = (
    ("HARDSHIP", 0.002, 3),
    ("DISPUTE", 0.002, 1),
    ("SCRA", 0.0002, 0),
)


class FlagLog:
    """The flags raised so far, as (account_id, flag, raised day, cleared day or None)."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, str, int, int | None]] = []

    def raise_flags(
        self,
        rng: np.random.Generator,
        month: Month,
        accounts: Accounts,
        state: AccountState,
        story: Scenario,
    ) -> np.ndarray:
        """Raise this month's flags, never before the account opened; returns the
        accounts that must charge off at the month end (bankrupt or deceased)."""
        n = accounts.count
        live = month.live
        bankruptcy_p = (
            np.where(state.missed > 0, 0.004, 0.0003)
            * GRADE_BANKRUPTCY[accounts.grade]
            * story.factor(month.index, "bankruptcy")
        )
        bankrupt = live & (rng.random(n) < bankruptcy_p)
        deceased = live & ~bankrupt & (rng.random(n) < 0.0001)
        for code, mask in (("BANKRUPTCY", bankrupt), ("DECEASED", deceased)):
            for i in np.flatnonzero(mask):
                raised = max(month.start_day + int(rng.integers(0, 20)), int(accounts.open_day[i]))
                self.rows.append((int(accounts.ids[i]), code, raised, None))
        for code, p, months_on in _SELF_CLEARING:
            for i in np.flatnonzero(live & (rng.random(n) < p)):
                raised = max(month.start_day + int(rng.integers(0, 25)), int(accounts.open_day[i]))
                cleared = raised + 30 * months_on + 5 if months_on else None
                self.rows.append((int(accounts.ids[i]), code, raised, cleared))
        return bankrupt | deceased

    def table(self) -> pl.DataFrame:
        """The `account_flags` batch; a flag raised twice on the same day is one row."""
        rows = self.rows
        return pl.DataFrame(
            {
                "account_id": [r[0] for r in rows],
                "flag": [r[1] for r in rows],
                "raised_on": date_series(np.array([r[2] for r in rows], dtype=np.int64)),
                "cleared_on": pl.Series(
                    [None if r[3] is None else to_date(r[3]) for r in rows], dtype=pl.Date
                ),
            },
            schema_overrides={"account_id": pl.Int64, "flag": pl.String},
        ).unique(["account_id", "flag", "raised_on"], keep="first", maintain_order=True)
