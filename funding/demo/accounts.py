"""The static attributes of every account, drawn once at origination, and the
`account_terms` and `accounts` batches they make."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from funding.demo.book import (
    CHANNEL_SHARE,
    CHANNELS,
    FULL_PAYER,
    GRADE_APR,
    GRADE_FICO,
    GRADE_FULL_PAYER_SHARE,
    GRADE_LIMIT,
    GRADE_SHARE,
    GRADES,
    MIN_PAYER,
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
    open_month: np.ndarray  # index of the simulated month the account opens in
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


def originate(rng: np.random.Generator, count: int, periods: list[Period]) -> Accounts:
    """Draw `count` accounts opening over `periods`."""
    n = count
    months = len(periods)
    # A launch cohort in the first quarter, then steady monthly originations.
    weights = np.ones(months)
    weights[: min(3, months)] = 4.0
    open_month = rng.choice(months, size=n, p=weights / weights.sum())
    open_day = np.array([day_number(p.start) for p in periods])[open_month] + rng.integers(0, 28, n)
    grade = rng.choice(5, size=n, p=GRADE_SHARE)
    fico = np.clip(np.rint(rng.normal(GRADE_FICO[grade], 22)), 300, 850).astype(np.int64)
    fico_missing = rng.random(n) < 0.02
    whole_dollars = rounded(np.exp(rng.normal(11.0, 0.5, n)))
    credit_limit = (
        (np.rint(GRADE_LIMIT[grade] * np.exp(rng.normal(0, 0.35, n)) / 10_000) * 10_000)
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
