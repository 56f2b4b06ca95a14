"""Blocking reconciliations of the receivables snapshot against the ledger
(issue: extraction). Each names the period and the offending ids."""

from __future__ import annotations

from datetime import date

import polars as pl

from checks.outcome import CheckOutcome, offending_rows
from funding.ledger.closes import PeriodClose, Window
from funding.ledger.database import LedgerSession

ROLL_FORWARDS = {
    "principal": (
        ["purchases_cents"],
        ["returns_cents", "principal_collections_cents", "chargeoff_principal_cents"],
    ),
    "interest": (
        ["interest_billed_cents"],
        ["interest_collections_cents", "interest_waivers_cents", "chargeoff_interest_cents"],
    ),
    "fees": (
        ["fees_billed_cents"],
        ["fee_collections_cents", "fee_waivers_cents", "chargeoff_fees_cents"],
    ),
}
RECEIVABLE_GL = {
    "principal": "receivable:principal",
    "interest": "receivable:interest",
    "fees": "receivable:fees",
}
SAMPLE_EVERY = 20


def _label(period_end: date) -> str:
    return f"period {period_end:%Y-%m}"


def rollforward(snapshot: pl.DataFrame, period_end: date) -> CheckOutcome:
    """end = begin + increases - decreases, per account and so for the portfolio,
    for principal, interest and fees. Fails when a receivable moved through an
    entry type the measures do not account for."""
    problems = []
    exprs = []
    for balance, (plus, minus) in ROLL_FORWARDS.items():
        expected = pl.col(f"begin_{balance}_cents")
        for c in plus:
            expected = expected + pl.col(c)
        for c in minus:
            expected = expected - pl.col(c)
        exprs.append((pl.col(f"{balance}_cents") - expected).alias(f"{balance}_gap_cents"))
    gaps = snapshot.select("account_id", *exprs)
    gap_cols = [f"{b}_gap_cents" for b in ROLL_FORWARDS]
    bad = gaps.filter(pl.any_horizontal(pl.col(c) != 0 for c in gap_cols))
    totals = {c: int(gaps[c].sum()) for c in gap_cols}
    if bad.height:
        problems.append(f"{bad.height} accounts do not roll forward")
    passed = bad.height == 0
    summary = (
        f"{_label(period_end)}: portfolio roll-forward holds to the cent"
        if passed
        else f"{_label(period_end)}: roll-forward broken for {bad.height} accounts "
        f"(portfolio gaps in cents {totals}); ids {bad['account_id'].head(20).to_list()}"
    )
    return CheckOutcome(
        "rollforward",
        passed,
        summary,
        observed=totals,
        expected={c: 0 for c in gap_cols},
        offending=offending_rows(bad.head(20).to_dicts()),
    )


def trial_balance(
    session: LedgerSession, snapshot: pl.DataFrame, close: PeriodClose
) -> CheckOutcome:
    """The snapshot's receivables equal the ledger's own trial balance at the cutoff."""
    ledger = dict(
        session.rows("trial_balance.sql", cutoff=close.closed_at, period_end=close.period_end)
    )
    observed, expected, off = {}, {}, []
    for balance, gl in RECEIVABLE_GL.items():
        observed[gl] = int(snapshot[f"{balance}_cents"].sum())
        expected[gl] = int(ledger.get(gl) or 0)
        if observed[gl] != expected[gl]:
            off.append(
                {
                    "gl_account": gl,
                    "snapshot_cents": observed[gl],
                    "ledger_cents": expected[gl],
                    "difference_cents": observed[gl] - expected[gl],
                }
            )
    passed = not off
    summary = (
        f"{_label(close.period_end)}: receivables equal the ledger trial balance at {close.closed_at}"
        if passed
        else f"{_label(close.period_end)}: snapshot receivables differ from the ledger trial balance: {off}"
    )
    return CheckOutcome("trial_balance", passed, summary, observed, expected, offending_rows(off))


def carried_balances(
    session: LedgerSession, snapshot: pl.DataFrame, close: PeriodClose, sample_remainder: int
) -> CheckOutcome:
    """Balances carried forward equal a full recomputation from every posting,
    for a sample of accounts (account_id mod 20 = remainder; the remainder
    moves with the period so every account is covered over 20 periods)."""
    schema = {
        "account_id": pl.Int64(),
        "principal_cents": pl.Int64(),
        "interest_cents": pl.Int64(),
        "fees_cents": pl.Int64(),
    }
    recomputed = session.frame(
        "account_balances_sample.sql",
        schema,
        cutoff=close.closed_at,
        period_end=close.period_end,
        sample_every=SAMPLE_EVERY,
        sample_remainder=sample_remainder,
    )
    carried = snapshot.filter(pl.col("account_id") % SAMPLE_EVERY == sample_remainder).select(
        list(schema)
    )
    joined = carried.join(
        recomputed, on="account_id", how="full", suffix="_ledger", coalesce=True
    ).fill_null(0)
    bad = joined.filter(
        (pl.col("principal_cents") != pl.col("principal_cents_ledger"))
        | (pl.col("interest_cents") != pl.col("interest_cents_ledger"))
        | (pl.col("fees_cents") != pl.col("fees_cents_ledger"))
    ).sort("account_id")
    passed = bad.height == 0
    summary = (
        f"{_label(close.period_end)}: carried balances of {joined.height} sampled accounts "
        "equal a full recomputation"
        if passed
        else f"{_label(close.period_end)}: {bad.height} carried balances differ from a full "
        f"recomputation; ids {bad['account_id'].head(20).to_list()}"
    )
    return CheckOutcome(
        "carried_balances",
        passed,
        summary,
        bad.height,
        0,
        offending_rows(bad.head(20).to_dicts()),
        details={"sampled_accounts": joined.height},
    )


def entries_balance(
    session: LedgerSession, close: PeriodClose, prev: PeriodClose | None
) -> CheckOutcome:
    rows = session.rows("entries_unbalanced.sql", **Window(close, prev).params())
    off = [
        {"entry_id": r[0], "account_id": r[1], "imbalance_cents": r[2], "lines": r[3]} for r in rows
    ]
    passed = not off
    summary = (
        f"{_label(close.period_end)}: every entry newly counted balances to zero"
        if passed
        else f"{_label(close.period_end)}: {len(off)} entries do not balance; "
        f"entry ids {[o['entry_id'] for o in off[:20]]}"
    )
    return CheckOutcome("entries_balance", passed, summary, len(off), 0, offending_rows(off))


def gl_accounts_known(
    session: LedgerSession, close: PeriodClose, prev: PeriodClose | None
) -> CheckOutcome:
    rows = session.rows("unknown_gl_accounts.sql", **Window(close, prev).params())
    off = [
        {"entry_id": r[0], "account_id": r[1], "line_no": r[2], "gl_account": r[3]} for r in rows
    ]
    passed = not off
    summary = (
        f"{_label(close.period_end)}: every posting is to a GL account of the chart of accounts"
        if passed
        else f"{_label(close.period_end)}: {len(off)} postings to unknown GL accounts "
        f"{sorted({o['gl_account'] for o in off})}; entry ids {[o['entry_id'] for o in off[:20]]}"
    )
    return CheckOutcome("gl_accounts_known", passed, summary, len(off), 0, offending_rows(off))


def idempotency_keys_unique(session: LedgerSession, period_end: date) -> CheckOutcome:
    rows = session.rows("duplicate_idempotency_keys.sql")
    off = [
        {"idempotency_key": r[0], "first_entry_id": r[1], "last_entry_id": r[2], "entries": r[3]}
        for r in rows
    ]
    passed = not off
    summary = (
        f"{_label(period_end)}: idempotency keys are unique"
        if passed
        else f"{_label(period_end)}: {len(off)} idempotency keys are used by more than one entry "
        f"(an event booked twice): {[o['idempotency_key'] for o in off[:20]]}"
    )
    return CheckOutcome(
        "idempotency_keys_unique", passed, summary, len(off), 0, offending_rows(off)
    )


def one_vehicle_per_account(session: LedgerSession, period_end: date) -> CheckOutcome:
    rows = session.rows("overlapping_designations.sql")
    off = [
        {
            "account_id": r[0],
            "vehicle_id": r[1],
            "other_vehicle_id": r[2],
            "designated_on": str(r[3]),
            "other_designated_on": str(r[4]),
        }
        for r in rows
    ]
    passed = not off
    summary = (
        f"{_label(period_end)}: no account is designated to two vehicles on the same date"
        if passed
        else f"{_label(period_end)}: {len(off)} accounts are designated to two vehicles at once; "
        f"account ids {[o['account_id'] for o in off[:20]]}"
    )
    return CheckOutcome(
        "one_vehicle_per_account", passed, summary, len(off), 0, offending_rows(off)
    )


def period_closes_in_order(closes: list[PeriodClose], period_end: date) -> CheckOutcome:
    """Closes after the whole last day of their period and after the previous close."""
    off = []
    ordered = sorted(closes, key=lambda c: c.period_end)
    for i, close in enumerate(ordered):
        day_after = close.period_end.toordinal() + 1
        if close.closed_at.date().toordinal() < day_after:
            off.append(
                {
                    "period_end": str(close.period_end),
                    "closed_at": str(close.closed_at),
                    "problem": "closed before the period ended",
                }
            )
        if i and close.closed_at <= ordered[i - 1].closed_at:
            off.append(
                {
                    "period_end": str(close.period_end),
                    "closed_at": str(close.closed_at),
                    "problem": f"closed before the previous period {ordered[i - 1].period_end}",
                }
            )
    passed = not off
    summary = (
        f"{_label(period_end)}: period closes are in order"
        if passed
        else f"{_label(period_end)}: period_closes out of order: {off[:20]}"
    )
    return CheckOutcome("period_closes_in_order", passed, summary, len(off), 0, offending_rows(off))


def extraction_checks(
    session: LedgerSession,
    snapshot: pl.DataFrame,
    close: PeriodClose,
    prev: PeriodClose | None,
    closes: list[PeriodClose],
) -> list[CheckOutcome]:
    return [
        rollforward(snapshot, close.period_end),
        trial_balance(session, snapshot, close),
        carried_balances(
            session,
            snapshot,
            close,
            (close.period_end.year * 12 + close.period_end.month) % SAMPLE_EVERY,
        ),
        entries_balance(session, close, prev),
        gl_accounts_known(session, close, prev),
        idempotency_keys_unique(session, close.period_end),
        one_vehicle_per_account(session, close.period_end),
        period_closes_in_order(closes, close.period_end),
    ]


EXTRACTION_CHECKS = (
    (
        "rollforward",
        "Principal, interest and fee roll-forward per account and for the portfolio, to the cent.",
    ),
    (
        "trial_balance",
        "Sum of receivables equals the ledger's trial balance of receivable:* at the cutoff.",
    ),
    (
        "carried_balances",
        "Carried balances equal a full recomputation from every posting (sampled accounts).",
    ),
    ("entries_balance", "Every entry newly counted in the period balances to zero."),
    ("gl_accounts_known", "Every posting is to a GL account of the chart of accounts."),
    ("idempotency_keys_unique", "No idempotency key is used by two entries."),
    ("one_vehicle_per_account", "No account is designated to two vehicles on the same date."),
    (
        "period_closes_in_order",
        "Period closes come after their period and after the previous close.",
    ),
)
