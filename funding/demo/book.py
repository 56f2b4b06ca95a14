"""The book's calibration: who the borrowers are by risk grade and state, how
they pay, roll and cure, and what they are charged.

Amounts are in cents, APRs in basis points, probabilities per account-month.
"""

from __future__ import annotations

import numpy as np

# Risk grades, best first, and the grade-level parameters of origination and behaviour.
GRADES = np.array(list("ABCDE"))
GRADE_SHARE = [0.22, 0.30, 0.24, 0.15, 0.09]
GRADE_FICO = np.array([770, 725, 685, 645, 610])
GRADE_LIMIT = np.array([1_000_000, 650_000, 420_000, 300_000, 200_000])
GRADE_APR = np.array([1899, 2299, 2699, 2999, 3399])
GRADE_FULL_PAYER_SHARE = np.array([0.40, 0.32, 0.25, 0.18, 0.12])
# Chance that a current account misses its payment (doubled for minimum payers),
# and the grade's multiple of the book's bankruptcy rate: losses come mostly
# from the lower grades, as in a real book.
GRADE_MISS = np.array([0.001, 0.004, 0.03, 0.065, 0.11])
GRADE_BANKRUPTCY = np.array([0.3, 0.6, 1.0, 1.5, 2.2])
# Seasoning: young accounts miss more often (loss curves peak in the second
# year on book). Multiples of the miss chance by months on book, up to 12,
# up to 24, and after.
SEASONING_MISS = ((12, 2.2), (24, 1.3), (None, 0.8))

# Payment behaviour: pays the statement balance, pays some of it, pays the minimum.
FULL_PAYER, REVOLVER, MIN_PAYER = 0, 1, 2
# Of the non-full-payers, the share that revolve rather than pay the minimum.
REVOLVER_SHARE = 0.7

# Billing states weighted roughly by population.
_STATE_WEIGHTS = (
    ("CA", 12.0),
    ("TX", 9.0),
    ("FL", 6.8),
    ("NY", 5.9),
    ("PA", 3.9),
    ("IL", 3.8),
    ("OH", 3.5),
    ("GA", 3.3),
    ("NC", 3.2),
    ("MI", 3.0),
    ("NJ", 2.8),
    ("VA", 2.6),
    ("WA", 2.3),
    ("AZ", 2.2),
    ("MA", 2.1),
    ("TN", 2.1),
    ("IN", 2.0),
    ("MO", 1.9),
    ("MD", 1.8),
    ("WI", 1.8),
    ("CO", 1.8),
    ("MN", 1.7),
    ("SC", 1.6),
    ("AL", 1.5),
    ("LA", 1.4),
    ("KY", 1.4),
    ("OR", 1.3),
    ("OK", 1.2),
    ("CT", 1.1),
    ("IA", 1.0),
    ("UT", 1.0),
    ("NV", 0.9),
    ("AR", 0.9),
    ("MS", 0.9),
    ("KS", 0.9),
    ("NM", 0.6),
    ("NE", 0.6),
    ("WV", 0.5),
    ("ID", 0.6),
    ("HI", 0.4),
)
STATES = np.array([state for state, _ in _STATE_WEIGHTS])
STATE_WEIGHT = np.array([weight for _, weight in _STATE_WEIGHTS])

# The book: a back book opened over the four years before the first reported
# month, then new accounts each reported month (2% of the book a month).
BACK_BOOK_MONTHS = 48
NEW_ACCOUNTS_PER_MONTH = 0.02
MAX_NEW_SHARE = 0.6
# Months simulated before the first reported month, so that the book is
# seasoned when reporting starts: balances built up, every delinquency
# stage filled and charge-offs running. Their entries are in the ledger
# (history before the first close); only reported months are closed.
HISTORY_MONTHS = 12

CHANNELS = np.array(["DIRECT", "PARTNER", "REFERRAL"])
CHANNEL_SHARE = [0.5, 0.35, 0.15]
# CL_PLUS carries an annual fee.
PLUS_PRODUCT_SHARE = 0.15

# Probability of curing (paying all past due) and of holding the same stage,
# by months past due; the rest roll forward. Gives roughly 40% 30->60 and
# 70-85% for later stages, as in card master trust reports.
CURE_P = np.array([0, 0.45, 0.25, 0.15, 0.10, 0.07, 0.05, 0.0])
HOLD_P = np.array([0, 0.15, 0.10, 0.08, 0.06, 0.05, 0.05, 0.0])
CHARGE_OFF_DPD = 180

LATE_FEE = 2900
ANNUAL_FEE = 9500
MIN_PAYMENT = 2500
