"""What changes about each account from month to month: balances, delinquency,
charge-off, closure and current terms. The month's steps read and update it
in place."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from funding.demo.accounts import Accounts


@dataclass
class AccountState:
    """One array per attribute, one element per account, as of the step running now."""

    # Receivable balances, cents; principal goes negative on an overpayment.
    principal: np.ndarray
    interest: np.ndarray
    fees: np.ndarray
    missed: np.ndarray  # months past due
    first_missed_due: np.ndarray  # day number of the oldest unpaid due date, 0 when current
    charged_off: np.ndarray
    charge_off_month: np.ndarray  # -1 until charged off
    charged_off_principal: np.ndarray  # the basis of later recoveries
    closed_day: np.ndarray  # 0 = open
    close_reason: np.ndarray
    credit_limit: np.ndarray
    apr: np.ndarray
    score: np.ndarray  # latest FICO
    # Grace period this month: the account owed nothing or paid its whole
    # statement balance, so its new purchases accrue no interest.
    grace: np.ndarray

    @classmethod
    def at_origination(cls, accounts: Accounts) -> AccountState:
        n = accounts.count
        return cls(
            principal=np.zeros(n, np.int64),
            interest=np.zeros(n, np.int64),
            fees=np.zeros(n, np.int64),
            missed=np.zeros(n, np.int64),
            first_missed_due=np.zeros(n, np.int64),
            charged_off=np.zeros(n, bool),
            charge_off_month=np.full(n, -1),
            charged_off_principal=np.zeros(n, np.int64),
            closed_day=np.zeros(n, np.int64),
            close_reason=np.full(n, None, dtype=object),
            # Copies: the origination terms stay as they were.
            credit_limit=accounts.credit_limit.copy(),
            apr=accounts.apr.copy(),
            score=accounts.fico.copy(),
            grace=np.zeros(n, bool),
        )

    def balance(self) -> np.ndarray:
        return self.principal + self.interest + self.fees
