"""A synthetic ledger of a revolving credit book, deterministic for a seed.

Accounts open in monthly vintages; each month every live account pays (full
payers, revolvers, minimum payers) or misses, buys and returns, is billed
interest and fees, rolls through delinquency and charges off at 180 DPD (or
earlier on bankruptcy or death), and recovers afterwards. The simulation is
vectorised over accounts with numpy, one month at a time, and emits ledger
rows month by month so a million accounts fit in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import polars as pl

ENTRY_TYPES = (
    "PURCHASE",
    "RETURN",
    "INTEREST_CHARGE",
    "FEE_CHARGE",
    "WAIVER",
    "PAYMENT",
    "PAYMENT_REVERSAL",
    "CHARGE_OFF",
    "RECOVERY",
)
GL = (
    "receivable:principal",
    "receivable:interest",
    "receivable:fees",
    "cash:collections",
    "merchant:settlement",
    "income:interest",
    "income:fees",
    "income:recoveries",
    "chargeoff:principal",
    "chargeoff:interest",
    "chargeoff:fees",
)
R_PRIN, R_INT, R_FEE, CASH, MERCH, INC_INT, INC_FEE, INC_REC, CO_PRIN, CO_INT, CO_FEE = range(11)
T = {name: i for i, name in enumerate(ENTRY_TYPES)}

GRADES = np.array(list("ABCDE"))
GRADE_P = [0.22, 0.30, 0.24, 0.15, 0.09]
GRADE_FICO = np.array([770, 725, 685, 645, 610])
GRADE_LIMIT = np.array([1_200_000, 800_000, 450_000, 280_000, 160_000])  # cents
GRADE_APR = np.array([1899, 2299, 2699, 2999, 3399])
GRADE_MISS = np.array([0.004, 0.008, 0.016, 0.03, 0.05])
STATES = np.array(
    [
        "CA",
        "TX",
        "FL",
        "NY",
        "PA",
        "IL",
        "OH",
        "GA",
        "NC",
        "MI",
        "NJ",
        "VA",
        "WA",
        "AZ",
        "MA",
        "TN",
        "IN",
        "MO",
        "MD",
        "WI",
        "CO",
        "MN",
        "SC",
        "AL",
        "LA",
        "KY",
        "OR",
        "OK",
        "CT",
        "IA",
        "UT",
        "NV",
        "AR",
        "MS",
        "KS",
        "NM",
        "NE",
        "WV",
        "ID",
        "HI",
    ]
)
STATE_W = np.array(
    [
        12.0,
        9.0,
        6.8,
        5.9,
        3.9,
        3.8,
        3.5,
        3.3,
        3.2,
        3.0,
        2.8,
        2.6,
        2.3,
        2.2,
        2.1,
        2.1,
        2.0,
        1.9,
        1.8,
        1.8,
        1.8,
        1.7,
        1.6,
        1.5,
        1.4,
        1.4,
        1.3,
        1.2,
        1.1,
        1.0,
        1.0,
        0.9,
        0.9,
        0.9,
        0.9,
        0.6,
        0.6,
        0.5,
        0.6,
        0.4,
    ]
)
CHANNELS = np.array(["DIRECT", "PARTNER", "REFERRAL"])
FULL_PAYER, REVOLVER, MIN_PAYER = 0, 1, 2
# Probability of curing (paying all past due) and of holding the same stage,
# by months past due; the rest roll forward. Gives roughly 40% 30->60 and
# 70-85% for later stages, as in card master trust reports.
CURE_P = np.array([0, 0.45, 0.25, 0.15, 0.10, 0.07, 0.05, 0.0])
HOLD_P = np.array([0, 0.15, 0.10, 0.08, 0.06, 0.05, 0.05, 0.0])
LATE_FEE = 2900
ANNUAL_FEE = 9500
MIN_PAYMENT = 2500


@dataclass(frozen=True)
class SeedConfig:
    accounts: int = 20_000
    months: int = 15
    first_period: date = date(2025, 1, 31)
    seed: int = 7
    vehicles: tuple[str, ...] = ("wh1", "trust1")


def month_end(year: int, month: int) -> date:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def period_ends(first: date, months: int) -> list[date]:
    out = []
    y, m = first.year, first.month
    for _ in range(months):
        out.append(month_end(y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def close_time(period_end: date, rng_value: float) -> datetime:
    """Accounting close a few business days after the month end."""
    return datetime.combine(period_end + timedelta(days=4), time(17, 0)) + timedelta(
        minutes=int(rng_value * 180)
    )


class _Entries:
    """Accumulates journal entries and their posting lines for one month."""

    def __init__(self, next_entry_id: int):
        self.next_id = next_entry_id
        self.entries: list[dict[str, np.ndarray]] = []
        self.lines: list[dict[str, np.ndarray]] = []

    def add(self, entry_type: str, account_ids, effective_days, lines, reverses=None) -> np.ndarray:
        """Entries of one type; `lines` = [(gl_index, amounts)], zero lines omitted."""
        n = len(account_ids)
        lines = [(gl, np.broadcast_to(np.asarray(a, dtype=np.int64), (n,))) for gl, a in lines]
        # An entry whose every line is zero is no event: drop it.
        has_amount = np.zeros(n, bool)
        for _, amounts in lines:
            has_amount |= amounts != 0
        if not has_amount.all():
            account_ids = np.asarray(account_ids)[has_amount]
            effective_days = np.broadcast_to(np.asarray(effective_days), (n,))[has_amount]
            if reverses is not None:
                reverses = np.broadcast_to(np.asarray(reverses), (n,))[has_amount]
            lines = [(gl, amounts[has_amount]) for gl, amounts in lines]
            n = int(has_amount.sum())
        if n == 0:
            return np.empty(0, dtype=np.int64)
        ids = np.arange(self.next_id, self.next_id + n, dtype=np.int64)
        self.next_id += n
        self.entries.append(
            {
                "entry_id": ids,
                "account_id": np.asarray(account_ids, dtype=np.int64),
                "type": np.full(n, T[entry_type], dtype=np.int8),
                "effective_day": np.broadcast_to(np.asarray(effective_days, dtype=np.int64), (n,)),
                "reverses": np.broadcast_to(
                    np.asarray(reverses if reverses is not None else 0, dtype=np.int64), (n,)
                ),
            }
        )
        for line_no, (gl, amounts) in enumerate(lines, start=1):
            keep = amounts != 0
            self.lines.append(
                {
                    "entry_id": ids[keep],
                    "line_no": np.full(int(keep.sum()), line_no, dtype=np.int64),
                    "gl": np.full(int(keep.sum()), gl, dtype=np.int8),
                    "amount_cents": amounts[keep],
                }
            )
        return ids

    def frames(
        self,
        rng: np.random.Generator,
        close_day: np.datetime64,
        late_share: float,
        no_late_accounts: np.ndarray,
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        cat = {k: np.concatenate([e[k] for e in self.entries]) for k in self.entries[0]}
        n = len(cat["entry_id"])
        # Posted a few hours after the effective date; a small share after the
        # month's close (late postings), never for entries of accounts charged
        # off this month (their late postings would be a data-quality warning).
        eff = cat["effective_day"].astype("datetime64[D]")
        posted = eff.astype("datetime64[us]") + (
            rng.integers(3_600, 40 * 3_600, n) * 1_000_000
        ).astype("timedelta64[us]")
        late = (rng.random(n) < late_share) & ~np.isin(cat["account_id"], no_late_accounts)
        late &= cat["type"] != T["CHARGE_OFF"]
        late_at = close_day.astype("datetime64[us]") + (
            rng.integers(3_600, 72 * 3_600, n) * 1_000_000
        ).astype("timedelta64[us]")
        posted = np.where(late, late_at, posted)
        # Sub-second precision on some rows, as real ledgers have.
        posted = posted + (rng.integers(0, 1_000_000, n) * (rng.random(n) < 0.3)).astype(
            "timedelta64[us]"
        )
        entries = pl.DataFrame(
            {
                "entry_id": cat["entry_id"],
                "account_id": cat["account_id"],
                "entry_type": pl.Series(cat["type"]).replace_strict(
                    list(range(len(ENTRY_TYPES))), list(ENTRY_TYPES), return_dtype=pl.String
                ),
                "effective_on": pl.Series(cat["effective_day"].astype("datetime64[D]")).cast(
                    pl.Date
                ),
                "posted_at": pl.Series(posted).cast(pl.Datetime("us")),
                "reverses_entry_id": pl.Series(cat["reverses"]).replace(0, None),
            }
        ).with_columns(
            pl.format("{}-{}", pl.col("entry_type").str.to_lowercase(), pl.col("entry_id")).alias(
                "idempotency_key"
            )
        )
        lines = {k: np.concatenate([e[k] for e in self.lines]) for k in self.lines[0]}
        postings = pl.DataFrame(
            {
                "entry_id": lines["entry_id"],
                "line_no": lines["line_no"],
                "gl_account": pl.Series(lines["gl"]).replace_strict(
                    list(range(len(GL))), list(GL), return_dtype=pl.String
                ),
                "amount_cents": lines["amount_cents"],
            }
        ).sort("entry_id", "line_no")
        # Renumber lines 1..k per entry after zero lines were dropped.
        postings = postings.with_columns(
            (pl.int_range(pl.len()).over("entry_id") + 1).alias("line_no")
        )
        return entries.sort("entry_id"), postings


def _days(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _money(values) -> np.ndarray:
    return np.rint(values).astype(np.int64)


def generate(config: SeedConfig) -> Iterator[tuple[str, pl.DataFrame]]:
    """Yield (table, rows) batches in load order for the whole synthetic ledger."""
    rng = np.random.default_rng(config.seed)
    n = config.accounts
    ends = period_ends(config.first_period, config.months)
    starts = [date(e.year, e.month, 1) for e in ends]
    ids = np.arange(1, n + 1, dtype=np.int64)

    # --- static account attributes ---------------------------------------
    # A launch cohort in the first quarter, then steady monthly originations.
    weights = np.ones(config.months)
    weights[: min(3, config.months)] = 4.0
    open_month = rng.choice(config.months, size=n, p=weights / weights.sum())
    open_day = np.array([_days(starts[m]) for m in range(config.months)])[
        open_month
    ] + rng.integers(0, 28, n)
    grade_idx = rng.choice(5, size=n, p=GRADE_P)
    fico = np.clip(np.rint(rng.normal(GRADE_FICO[grade_idx], 22)), 300, 850).astype(np.int64)
    fico_missing = rng.random(n) < 0.02
    income = _money(np.exp(rng.normal(11.0, 0.5, n))) * 100  # annual, whole dollars
    limit0 = (
        (np.rint(GRADE_LIMIT[grade_idx] * np.exp(rng.normal(0, 0.35, n)) / 10_000) * 10_000)
        .astype(np.int64)
        .clip(50_000, 3_000_000)
    )
    apr0 = GRADE_APR[grade_idx] + rng.integers(-2, 3, n) * 100
    full_payer_share = np.array([0.40, 0.32, 0.25, 0.18, 0.12])[grade_idx]
    behaviour = np.where(
        rng.random(n) < full_payer_share,
        FULL_PAYER,
        np.where(rng.random(n) < 0.7, REVOLVER, MIN_PAYER),
    )
    state = rng.choice(STATES, size=n, p=STATE_W / STATE_W.sum())
    channel = rng.choice(CHANNELS, size=n, p=[0.5, 0.35, 0.15])
    product = np.where(rng.random(n) < 0.15, "CL_PLUS", "CL_STD")
    cycle_day = rng.integers(1, 29, n)

    customers = _customers(rng, ids, state)
    yield "customers", customers

    # --- dynamic state ----------------------------------------------------
    prin = np.zeros(n, np.int64)
    intr = np.zeros(n, np.int64)
    fees = np.zeros(n, np.int64)
    missed = np.zeros(n, np.int64)  # months past due
    first_missed_due = np.zeros(n, np.int64)  # day number of the oldest unpaid due date
    charged = np.zeros(n, bool)
    co_month = np.full(n, -1)
    co_amount = np.zeros(n, np.int64)
    closed_day = np.zeros(n, np.int64)  # 0 = open
    close_reason = np.full(n, None, dtype=object)
    limit = limit0.copy()
    apr = apr0.copy()
    score = fico.copy()
    paid_in_full = np.zeros(n, bool)
    next_entry = 1

    yield (
        "account_terms",
        pl.DataFrame(
            {
                "account_id": ids,
                "effective_on": _dates(open_day),
                "credit_limit_cents": limit0,
                "purchase_apr_bps": apr0,
            }
        ),
    )
    designations = _DesignationBook([], np.full(n, -1), np.full(n, "", dtype=object))
    flag_rows: list[tuple[int, str, int, int | None]] = []

    for m, (start, end) in enumerate(zip(starts, ends, strict=True)):
        s_day, e_day = _days(start), _days(end)
        dim = e_day - s_day + 1
        opened = open_month <= m
        live = opened & ~charged & (closed_day == 0)
        book = _Entries(next_entry)
        due_day = s_day + np.minimum(cycle_day, dim) - 1
        mob = m - open_month

        # -- payments (fees -> interest -> principal) --
        total = prin + intr + fees
        owes = live & (total > 0) & (open_month < m)
        min_due = np.minimum(
            np.maximum(MIN_PAYMENT, prin // 100 + intr + fees), np.maximum(total, 0)
        )
        miss_p = GRADE_MISS[grade_idx] * np.where(behaviour == MIN_PAYER, 2.0, 1.0)
        u = rng.random(n)
        stage = np.minimum(missed, 7)
        cure = owes & (missed > 0) & (u < CURE_P[stage])
        hold = owes & (missed > 0) & ~cure & (u < CURE_P[stage] + HOLD_P[stage])
        roll = owes & (missed > 0) & ~cure & ~hold
        new_miss = owes & (missed == 0) & (rng.random(n) < miss_p)
        pays = owes & ~roll & ~new_miss
        amount = np.where(
            behaviour == FULL_PAYER,
            total,
            np.where(
                behaviour == REVOLVER,
                np.maximum(min_due, _money(total * rng.uniform(0.05, 0.4, n))),
                min_due,
            ),
        )
        amount = np.where(cure, np.minimum(total, min_due * (missed + 1)), amount)
        amount = np.where(hold, min_due, amount)
        overpay = pays & (behaviour == FULL_PAYER) & (rng.random(n) < 0.003)
        amount = np.where(overpay, amount + rng.integers(100, 10_000, n), amount)
        amount = np.where(
            pays, np.minimum(amount, np.maximum(total, 0) + np.where(overpay, 10_000, 0)), 0
        )
        pays &= amount > 0
        to_fees = np.minimum(amount, np.maximum(fees, 0))
        to_int = np.minimum(amount - to_fees, np.maximum(intr, 0))
        to_prin = amount - to_fees - to_int
        p_idx = np.flatnonzero(pays)
        pay_ids = book.add(
            "PAYMENT",
            ids[p_idx],
            due_day[p_idx],
            [
                (CASH, amount[p_idx]),
                (R_FEE, -to_fees[p_idx]),
                (R_INT, -to_int[p_idx]),
                (R_PRIN, -to_prin[p_idx]),
            ],
        )
        fees[p_idx] -= to_fees[p_idx]
        intr[p_idx] -= to_int[p_idx]
        prin[p_idx] -= to_prin[p_idx]
        paid_in_full = pays & (amount >= total)
        # Returned payments: the exact mirror, a few days later.
        ret = rng.random(len(p_idx)) < 0.004
        r_idx = p_idx[ret]
        book.add(
            "PAYMENT_REVERSAL",
            ids[r_idx],
            np.minimum(due_day[r_idx] + 3, e_day),
            [
                (CASH, -amount[r_idx]),
                (R_FEE, to_fees[r_idx]),
                (R_INT, to_int[r_idx]),
                (R_PRIN, to_prin[r_idx]),
            ],
            reverses=pay_ids[ret],
        )
        fees[r_idx] += to_fees[r_idx]
        intr[r_idx] += to_int[r_idx]
        prin[r_idx] += to_prin[r_idx]
        paid_in_full[r_idx] = False

        missed = np.where(cure, 0, np.where(roll | new_miss, missed + 1, missed))
        first_missed_due = np.where(new_miss, due_day, np.where(missed == 0, 0, first_missed_due))

        # -- late fees, some waived --
        late = np.flatnonzero(roll | new_miss)
        book.add(
            "FEE_CHARGE",
            ids[late],
            np.minimum(due_day[late] + 1, e_day),
            [(R_FEE, LATE_FEE), (INC_FEE, -LATE_FEE)],
        )
        fees[late] += LATE_FEE
        waive = late[rng.random(len(late)) < 0.05]
        book.add(
            "WAIVER",
            ids[waive],
            np.minimum(due_day[waive] + 5, e_day),
            [(R_FEE, -LATE_FEE), (INC_FEE, LATE_FEE)],
        )
        fees[waive] -= LATE_FEE
        annual = np.flatnonzero(live & (product == "CL_PLUS") & (mob > 0) & (mob % 12 == 0))
        book.add(
            "FEE_CHARGE",
            ids[annual],
            due_day[annual],
            [(R_FEE, ANNUAL_FEE), (INC_FEE, -ANNUAL_FEE)],
        )
        fees[annual] += ANNUAL_FEE

        # -- purchases and returns (current accounts only) --
        can_buy = live & (missed == 0)
        buys = can_buy & (rng.random(n) < np.where(behaviour == FULL_PAYER, 0.9, 0.8))
        spend = _money(limit * rng.uniform(0.02, 0.3, n))
        spend = np.minimum(spend, np.maximum(limit - prin - intr - fees, 0))
        buys &= spend > 0
        b_idx = np.flatnonzero(buys)
        buy_day = np.maximum(s_day, open_day[b_idx]) + rng.integers(0, 28, len(b_idx))
        buy_day = np.minimum(buy_day, e_day)
        book.add("PURCHASE", ids[b_idx], buy_day, [(R_PRIN, spend[b_idx]), (MERCH, -spend[b_idx])])
        prin[b_idx] += spend[b_idx]
        rt = b_idx[rng.random(len(b_idx)) < 0.05]
        ret_amt = _money(spend[rt] * rng.uniform(0.1, 0.6, len(rt)))
        book.add("RETURN", ids[rt], e_day - 1, [(R_PRIN, -ret_amt), (MERCH, ret_amt)])
        prin[rt] -= ret_amt

        # -- flags: bankruptcy and death charge off early; hardship, disputes clear --
        bk = live & (rng.random(n) < np.where(missed > 0, 0.004, 0.0003))
        dec = live & ~bk & (rng.random(n) < 0.0001)
        for code, mask in (("BANKRUPTCY", bk), ("DECEASED", dec)):
            for i in np.flatnonzero(mask):
                flag_rows.append((int(ids[i]), code, s_day + int(rng.integers(0, 20)), None))
        for code, p, months_on in (
            ("HARDSHIP", 0.002, 3),
            ("DISPUTE", 0.002, 1),
            ("SCRA", 0.0002, 0),
        ):
            for i in np.flatnonzero(live & (rng.random(n) < p)):
                raised = s_day + int(rng.integers(0, 25))
                cleared = raised + 30 * months_on + 5 if months_on else None
                flag_rows.append((int(ids[i]), code, raised, cleared))

        # -- interest on the revolving balance, billed at the month end --
        revolving = live & ~paid_in_full & (prin > 0) & (open_month < m)
        interest = np.where(revolving, _money(prin * apr / 12 / 10_000), 0)
        i_idx = np.flatnonzero(interest > 0)
        book.add(
            "INTEREST_CHARGE",
            ids[i_idx],
            np.full(len(i_idx), e_day),
            [(R_INT, interest[i_idx]), (INC_INT, -interest[i_idx])],
        )
        intr[i_idx] += interest[i_idx]
        # Goodwill and hardship interest waivers on a small share of delinquent accounts.
        iw = i_idx[(missed[i_idx] > 0) & (rng.random(len(i_idx)) < 0.05)]
        book.add(
            "WAIVER",
            ids[iw],
            np.full(len(iw), e_day),
            [(R_INT, -interest[iw]), (INC_INT, interest[iw])],
        )
        intr[iw] -= interest[iw]

        # -- delinquency at the month end and charge-off at 180 DPD --
        dpd = np.where(live & (missed > 0), e_day - first_missed_due + 1, 0)
        co = live & ((dpd >= 180) | bk | dec)
        c_idx = np.flatnonzero(co)
        book.add(
            "CHARGE_OFF",
            ids[c_idx],
            np.full(len(c_idx), e_day),
            [
                (CO_PRIN, prin[c_idx]),
                (R_PRIN, -prin[c_idx]),
                (CO_INT, intr[c_idx]),
                (R_INT, -intr[c_idx]),
                (CO_FEE, fees[c_idx]),
                (R_FEE, -fees[c_idx]),
            ],
        )
        co_amount[c_idx] = prin[c_idx]
        prin[c_idx] = 0
        intr[c_idx] = 0
        fees[c_idx] = 0
        charged |= co
        co_month[c_idx] = m
        closed_day[c_idx] = e_day
        close_reason[c_idx] = "CHARGE_OFF"
        snap = np.flatnonzero(dpd > 0)
        delinquency = pl.DataFrame(
            {
                "account_id": ids[snap],
                "as_of": _dates(np.full(len(snap), e_day)),
                "days_past_due": dpd[snap],
                "past_due_cents": min_due[snap] * np.maximum(missed[snap], 1),
            }
        )

        # -- recoveries on accounts charged off in earlier months --
        rec = (
            charged
            & (co_month < m)
            & (m - co_month <= 18)
            & (co_amount > 0)
            & (rng.random(n) < 0.08)
        )
        rec_idx = np.flatnonzero(rec)
        rec_amt = np.maximum(
            _money(co_amount[rec_idx] * rng.uniform(0.03, 0.15, len(rec_idx))), 100
        )
        book.add(
            "RECOVERY",
            ids[rec_idx],
            s_day + rng.integers(0, 28, len(rec_idx)),
            [(CASH, rec_amt), (INC_REC, -rec_amt)],
        )

        # -- customer closures of zero-balance accounts --
        closes = live & ~co & (prin + intr + fees == 0) & (open_month < m) & (rng.random(n) < 0.006)
        closed_day[closes] = e_day
        close_reason[closes] = "CUSTOMER"

        # -- line management and repricing --
        terms_rows = []
        up = live & ~co & (missed == 0) & (mob >= 6) & (rng.random(n) < 0.015)
        limit[up] = (np.rint(limit[up] * 1.25 / 10_000) * 10_000).astype(np.int64)
        down = live & ~co & (missed >= 2) & (rng.random(n) < 0.2)
        limit[down] = np.maximum(
            (np.ceil(np.maximum(prin[down], 0) / 10_000) * 10_000).astype(np.int64), 50_000
        )
        reprice = live & ~co & (rng.random(n) < 0.005)
        apr[reprice] = np.clip(
            apr[reprice] + rng.choice([-200, 200], int(reprice.sum())), 999, 3599
        )
        changed = np.flatnonzero((up | down | reprice) & (open_day < s_day + 14))
        if len(changed):
            terms_rows.append(
                pl.DataFrame(
                    {
                        "account_id": ids[changed],
                        "effective_on": _dates(np.full(len(changed), s_day + 14)),
                        "credit_limit_cents": limit[changed],
                        "purchase_apr_bps": apr[changed],
                    }
                )
            )

        # -- quarterly score refresh --
        scores = None
        if m % 3 == 2:
            fresh = np.flatnonzero(opened & ~charged)
            score[fresh] = np.clip(
                score[fresh] + _money(rng.normal(0, 12, len(fresh))) - 35 * missed[fresh], 300, 850
            )
            scores = pl.DataFrame(
                {
                    "account_id": ids[fresh],
                    "as_of": _dates(np.full(len(fresh), e_day)),
                    "fico": score[fresh],
                    "score_model": "FICO8",
                }
            )

        _designate(
            rng, m, s_day, ids, open_month, open_day, missed, charged, config.vehicles, designations
        )

        close_at = close_time(end, float(rng.random()))
        entries, postings = book.frames(
            rng, np.datetime64(close_at, "us"), late_share=0.005, no_late_accounts=ids[c_idx]
        )
        next_entry = book.next_id
        yield "journal_entries", entries
        yield "postings", postings
        yield "delinquency_snapshots", delinquency
        for rows in terms_rows:
            yield "account_terms", rows
        if scores is not None:
            yield "credit_scores", scores
        yield "period_closes", pl.DataFrame({"period_end": [end], "closed_at": [close_at]})

    yield (
        "accounts",
        pl.DataFrame(
            {
                "account_id": ids,
                "customer_id": ids,
                "product_code": product,
                "opened_on": _dates(open_day),
                "closed_on": pl.Series(_dates(closed_day)).set(pl.Series(closed_day == 0), None),
                "close_reason": pl.Series(close_reason.tolist(), dtype=pl.String),
                "origination_fico": pl.Series(fico).set(pl.Series(fico_missing), None),
                "origination_income_cents": income,
                "risk_grade": GRADES[grade_idx],
                "channel": channel,
                "billing_state": state,
                "cycle_day": cycle_day,
            }
        ),
    )
    yield (
        "account_flags",
        pl.DataFrame(
            {
                "account_id": [r[0] for r in flag_rows],
                "flag": [r[1] for r in flag_rows],
                "raised_on": _dates(np.array([r[2] for r in flag_rows], dtype=np.int64)),
                "cleared_on": pl.Series(
                    [
                        None if r[3] is None else date(1970, 1, 1) + timedelta(days=r[3])
                        for r in flag_rows
                    ],
                    dtype=pl.Date,
                ),
            },
            schema_overrides={"account_id": pl.Int64, "flag": pl.String},
        ).unique(["account_id", "flag", "raised_on"], keep="first", maintain_order=True),
    )
    yield (
        "vehicle_designations",
        pl.DataFrame(
            designations.rows,
            orient="row",
            schema={
                "account_id": pl.Int64,
                "vehicle_id": pl.String,
                "designated_on": pl.Date,
                "removed_on": pl.Date,
            },
        ),
    )


def _dates(days: np.ndarray) -> pl.Series:
    return pl.Series(np.asarray(days, dtype=np.int64).astype("datetime64[D]")).cast(pl.Date)


def _designate(rng, m, s_day, ids, open_month, open_day, missed, charged, vehicles, book) -> None:
    """Designations of month m: the warehouse takes half of new originations,
    the trust takes seasoned current undesignated accounts in cuts, and the
    warehouse removes accounts that went 60+ days past due."""
    warehouse, trust = vehicles[0], vehicles[-1]
    first_day = date(1970, 1, 1) + timedelta(days=int(s_day))
    n = len(ids)

    def designate(idx, vehicle, on_days):
        for i, d in zip(idx, on_days, strict=True):
            book.rows.append(
                [int(ids[i]), vehicle, date(1970, 1, 1) + timedelta(days=int(d)), None]
            )
            book.open_row[i] = len(book.rows) - 1
            book.vehicle[i] = vehicle

    def remove(idx):
        for i in idx:
            book.rows[book.open_row[i]][3] = first_day
            book.open_row[i] = -1
            book.vehicle[i] = ""

    new = np.flatnonzero((open_month == m) & (rng.random(n) < 0.5))
    designate(new, warehouse, open_day[new])
    if m in (2, 6, 10):
        seasoned = np.flatnonzero(
            (open_month < m)
            & ~charged
            & (missed == 0)
            & (book.vehicle == "")
            & (rng.random(n) < 0.45)
        )
        designate(seasoned, trust, np.full(len(seasoned), s_day))
    bad = np.flatnonzero(
        (book.vehicle == warehouse) & (missed >= 2) & ~charged & (rng.random(n) < 0.25)
    )
    bad = bad[open_day[bad] < s_day]
    remove(bad)


@dataclass
class _DesignationBook:
    """Designation rows and, per account, the row still in force."""

    rows: list
    open_row: np.ndarray
    vehicle: np.ndarray


def _customers(rng, ids, state) -> pl.DataFrame:
    first = np.array(
        ["Ava", "Ben", "Cora", "Dev", "Elle", "Finn", "Gia", "Hugo", "Iris", "Jon", "Kai", "Lena"]
    )
    last = np.array(
        [
            "Adams",
            "Baker",
            "Chen",
            "Diaz",
            "Evans",
            "Fox",
            "Garcia",
            "Hill",
            "Ito",
            "Jones",
            "Khan",
            "Lopez",
        ]
    )
    n = len(ids)
    f = rng.choice(first, n)
    la = rng.choice(last, n)
    dob = rng.integers(_days(date(1950, 1, 1)), _days(date(2004, 1, 1)), n)
    return pl.DataFrame(
        {
            "customer_id": ids,
            "full_name": [f"{a} {b}" for a, b in zip(f, la, strict=True)],
            "email": [
                f"{a.lower()}.{b.lower()}{i}@example.com"
                for a, b, i in zip(f, la, ids, strict=True)
            ],
            "phone": [f"555-01{i % 100:02d}" for i in ids],
            "date_of_birth": _dates(dob),
            "ssn": [f"9{i % 100:02d}-{(i // 100) % 100:02d}-{i % 10_000:04d}" for i in ids],
            "address_line1": [f"{(i * 7) % 9000 + 100} Main St" for i in ids],
            "city": "Springfield",
            "state": state,
            "postal_code": [f"{(i * 13) % 90000 + 10000:05d}" for i in ids],
        }
    )


def add_seed_arguments(parser, default_url: str) -> None:
    defaults = SeedConfig()
    parser.add_argument("--url", default=default_url, help="SQLAlchemy URL of the ledger to write")
    parser.add_argument("--accounts", type=int, default=defaults.accounts)
    parser.add_argument("--months", type=int, default=defaults.months)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--first-period",
        default=defaults.first_period.strftime("%Y-%m"),
        help="first month, YYYY-MM",
    )


def run_seed(args) -> int:
    from funding.ledger import redact
    from funding.ledger_writer import seed_ledger

    year, month = (int(p) for p in args.first_period.split("-"))
    config = SeedConfig(
        accounts=args.accounts,
        months=args.months,
        seed=args.seed,
        first_period=month_end(year, month),
    )
    report = seed_ledger(args.url, config)
    print(
        f"seeded {redact(args.url)}: {config.accounts:,} accounts, {config.months} months from "
        f"{args.first_period}, {report.total_rows:,} rows in {report.seconds:.1f}s "
        f"({report.total_rows / max(report.seconds, 1e-9):,.0f} rows/s)"
    )
    return 0


if __name__ == "__main__":
    import argparse
    import sys

    _parser = argparse.ArgumentParser(
        prog="python -m funding.seed", description=__doc__.split("\n\n")[0]
    )
    add_seed_arguments(_parser, default_url="sqlite:///var/ledger.sqlite")
    sys.exit(run_seed(_parser.parse_args()))
