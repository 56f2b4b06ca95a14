"""The static attributes of every account, drawn once at origination, and the
`account_terms` and `accounts` batches they make."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from funding.demo.book import (
    BACK_BOOK_MONTHS,
    CHANNEL_SHARE,
    CHANNELS,
    FULL_PAYER,
    GRADE_APR,
    GRADE_FICO,
    GRADE_FULL_PAYER_SHARE,
    GRADE_LIMIT,
    GRADE_SHARE,
    GRADES,
    MAX_NEW_SHARE,
    MIN_PAYER,
    NEW_ACCOUNTS_PER_MONTH,
    PLUS_PRODUCT_SHARE,
    REVOLVER,
    REVOLVER_SHARE,
    STATE_WEIGHT,
    STATES,
)
from funding.demo.units import date_series, day_number, rounded
from funding.period import Period


@dataclass(frozen=True)
class Accounts:
    """One array per attribute, one element per account; account `ids[i]` is
    also the id of its customer."""

    ids: np.ndarray
    open_month: np.ndarray  # month index from the first reported month (negative: before it)
    open_day: np.ndarray  # day number
    grade: np.ndarray  # index into GRADES
    fico: np.ndarray
    fico_missing: np.ndarray  # the bureau returned no score at origination
    income: np.ndarray  # annual, cents
    credit_limit: np.ndarray  # at origination, cents
    apr: np.ndarray  # at origination, basis points
    behaviour: np.ndarray  # FULL_PAYER, REVOLVER or MIN_PAYER
    billing_state: np.ndarray
    channel: np.ndarray
    product: np.ndarray
    cycle_day: np.ndarray  # day of the month payments fall due

    @property
    def count(self) -> int:
        return len(self.ids)

    def opening_terms(self) -> pl.DataFrame:
        """The `account_terms` in force from each account's opening day."""
        return pl.DataFrame(
            {
                "account_id": self.ids,
                "effective_on": date_series(self.open_day),
                "credit_limit_cents": self.credit_limit,
                "purchase_apr_bps": self.apr,
            }
        )

    def table(self, closed_day: np.ndarray, close_reason: np.ndarray) -> pl.DataFrame:
        """The `accounts` batch, written last because it carries how each account closed."""
        return pl.DataFrame(
            {
                "account_id": self.ids,
                "customer_id": self.ids,
                "product_code": self.product,
                "opened_on": date_series(self.open_day),
                "closed_on": pl.Series(date_series(closed_day)).set(
                    pl.Series(closed_day == 0), None
                ),
                "close_reason": pl.Series(close_reason.tolist(), dtype=pl.String),
                "origination_fico": pl.Series(self.fico).set(pl.Series(self.fico_missing), None),
                "origination_income_cents": self.income,
                "risk_grade": GRADES[self.grade],
                "channel": self.channel,
                "billing_state": self.billing_state,
                "cycle_day": self.cycle_day,
            }
        )


def originate(
    rng: np.random.Generator, count: int, first_period: Period, history: int, months: int
) -> Accounts:
    """Draw `count` accounts: a seasoned back book opened over the
    `BACK_BOOK_MONTHS` before `first_period`, and new originations,
    `NEW_ACCOUNTS_PER_MONTH` of the book each reported month (at most
    `MAX_NEW_SHARE` of it in all). Accounts opened before the simulated
    `history` months start it open, with nothing owed.

    `open_month` counts months from `first_period` (negative: before it)."""
    n = count
    back_months = np.arange(-BACK_BOOK_MONTHS, 0)
    new_months = np.arange(0, months)
    new_share = min(NEW_ACCOUNTS_PER_MONTH * months, MAX_NEW_SHARE)
    weights = np.concatenate(
        [
            np.full(len(back_months), (1 - new_share) / len(back_months)),
            np.full(len(new_months), new_share / max(len(new_months), 1)),
        ]
    )
    open_month = rng.choice(np.concatenate([back_months, new_months]), size=n, p=weights)
    month_start = {m: day_number(first_period.plus(int(m)).start) for m in np.unique(open_month)}
    open_day = np.array([month_start[m] for m in open_month], dtype=np.int64) + rng.integers(
        0, 28, n
    )
    grade = rng.choice(5, size=n, p=GRADE_SHARE)
    fico = np.clip(np.rint(rng.normal(GRADE_FICO[grade], 22)), 300, 850).astype(np.int64)
    fico_missing = rng.random(n) < 0.02
    whole_dollars = rounded(np.exp(rng.normal(11.0, 0.5, n)))
    credit_limit = (
        (np.rint(GRADE_LIMIT[grade] * np.exp(rng.normal(0, 0.25, n)) / 10_000) * 10_000)
        .astype(np.int64)
        .clip(50_000, 3_000_000)
    )
    apr = GRADE_APR[grade] + rng.integers(-2, 3, n) * 100
    behaviour = np.where(
        rng.random(n) < GRADE_FULL_PAYER_SHARE[grade],
        FULL_PAYER,
        np.where(rng.random(n) < REVOLVER_SHARE, REVOLVER, MIN_PAYER),
    )
    billing_state = rng.choice(STATES, size=n, p=STATE_WEIGHT / STATE_WEIGHT.sum())
    channel = rng.choice(CHANNELS, size=n, p=CHANNEL_SHARE)
    product = np.where(rng.random(n) < PLUS_PRODUCT_SHARE, "CL_PLUS", "CL_STD")
    cycle_day = rng.integers(1, 29, n)
    return Accounts(
        ids=np.arange(1, n + 1, dtype=np.int64),
        open_month=open_month,
        open_day=open_day,
        grade=grade,
        fico=fico,
        fico_missing=fico_missing,
        income=whole_dollars * 100,
        credit_limit=credit_limit,
        apr=apr,
        behaviour=behaviour,
        billing_state=billing_state,
        channel=channel,
        product=product,
        cycle_day=cycle_day,
    )
