"""Blocking reconciliations of the receivables snapshot against the ledger.
Each names the period and the offending ids.

They read the period's window and a bounded sample, never the ledger's
history: entry balance and the chart of accounts come from the window's
lines the extraction already read; the trial balance is the previous
period's plus the window's GL totals; the sampled full recomputation covers
a fixed number of accounts, a different slice every period.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import polars as pl

from checks.outcome import CheckOutcome, offending_rows
from funding.ledger.closes import PeriodClose, Window
from funding.ledger.database import LedgerSession
from funding.ledger.extract import Extraction
from funding.ledger.snapshot import RECEIVABLE_GL
from funding.ledger.window import MAX_LINE_CENTS

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
# Accounts fully recomputed each period: 0.5% of the book, at least 20 and at
# most 1,000. The sample reads those accounts' whole history, so a share this
# small keeps a period's reads near its window even when the ledger is years old.
SAMPLE_SHARE = 200
SAMPLE_MIN, SAMPLE_MAX = 20, 1_000


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


def ledger_trial_balance(session: LedgerSession, close: PeriodClose) -> dict[str, int]:
    """The ledger's own trial balance of the receivable GL accounts at a
    cutoff, from every posting (used only when no earlier one is recorded)."""
    rows = dict(
        session.rows("trial_balance.sql", cutoff=close.closed_at, period_end=close.period_end)
    )
    return {gl: int(rows.get(gl) or 0) for gl in RECEIVABLE_GL.values()}


def rolled_trial_balance(
    previous: Mapping[str, int] | None, window_totals: Mapping[str, int]
) -> dict[str, int] | None:
    """This period's trial balance: the previous one plus the window's lines
    (the first period's window holds every posting, so it is the whole)."""
    if previous is None:
        return None
    return {
        gl: int(previous.get(gl, 0)) + int(window_totals.get(gl, 0))
        for gl in RECEIVABLE_GL.values()
    }


def trial_balance(
    snapshot: pl.DataFrame, close: PeriodClose, ledger: Mapping[str, int]
) -> CheckOutcome:
    """The snapshot's receivables equal the ledger's trial balance at the cutoff."""
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


def sample_bounds(snapshot: pl.DataFrame, period_end: date) -> tuple[int, int]:
    """A contiguous slice of account ids (see SAMPLE_SHARE), moving with the
    period so that, over the months, every account is recomputed."""
    ids = snapshot.get_column("account_id").sort()
    if ids.is_empty():
        return (0, -1)
    size = max(SAMPLE_MIN, min(SAMPLE_MAX, ids.len() // SAMPLE_SHARE))
    slices = max(1, -(-ids.len() // size))
    first = ((period_end.year * 12 + period_end.month) % slices) * size
    return int(ids[first]), int(ids[min(first + size, ids.len()) - 1])


def carried_balances(
    session: LedgerSession, snapshot: pl.DataFrame, close: PeriodClose
) -> CheckOutcome:
    """Balances carried forward equal a full recomputation from every posting,
    for a sample of accounts (`sample_bounds`)."""
    schema = {
        "account_id": pl.Int64(),
        "principal_cents": pl.Int64(),
        "interest_cents": pl.Int64(),
        "fees_cents": pl.Int64(),
    }
    low, high = sample_bounds(snapshot, close.period_end)
    with session.planner(enable_seqscan="off", enable_hashjoin="off", enable_mergejoin="off"):
        recomputed = session.frame(
            "account_balances_sample.sql",
            schema,
            cutoff=close.closed_at,
            period_end=close.period_end,
            low=low,
            high=high,
        )
    carried = snapshot.filter(pl.col("account_id").is_between(low, high)).select(list(schema))
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


def entries_balance(extraction: Extraction) -> CheckOutcome:
    period_end = extraction.window.close.period_end
    off = extraction.lines.unbalanced.to_dicts()
    passed = not off
    summary = (
        f"{_label(period_end)}: every entry newly counted balances to zero"
        if passed
        else f"{_label(period_end)}: {len(off)} entries do not balance; "
        f"entry ids {[o['entry_id'] for o in off[:20]]}"
    )
    return CheckOutcome("entries_balance", passed, summary, len(off), 0, offending_rows(off))


def gl_accounts_known(extraction: Extraction) -> CheckOutcome:
    period_end = extraction.window.close.period_end
    off = extraction.lines.unknown_gl.to_dicts()
    passed = not off
    summary = (
        f"{_label(period_end)}: every posting is to a GL account of the chart of accounts"
        if passed
        else f"{_label(period_end)}: {len(off)} postings to unknown GL accounts "
        f"{sorted({o['gl_account'] for o in off})}; entry ids {[o['entry_id'] for o in off[:20]]}"
    )
    return CheckOutcome("gl_accounts_known", passed, summary, len(off), 0, offending_rows(off))


def idempotency_keys_unique(session: LedgerSession, window: Window) -> CheckOutcome:
    """No entry newly counted at P shares its idempotency key with another
    entry. The ledger's UNIQUE constraint on the key proves it when present;
    without it (a copy of the ledger), the window's keys are looked up."""
    period_end = window.close.period_end
    if session.idempotency_keys_enforced():
        return CheckOutcome(
            "idempotency_keys_unique",
            True,
            f"{_label(period_end)}: idempotency keys are unique "
            "(the ledger enforces UNIQUE on journal_entries.idempotency_key)",
            0,
            0,
        )
    rows = session.rows("duplicate_idempotency_keys.sql", **window.params())
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


def ledger_values_valid(
    session: LedgerSession, period_end: date, extraction: Extraction | None = None
) -> CheckOutcome:
    """Every date and timestamp the extraction reads is in the contract's form
    and in 1900..2199, and no posting line of the window exceeds
    MAX_LINE_CENTS. A malformed value would otherwise drop out of every
    total (and of the trial balance that checks them) without a trace."""
    rows = session.rows(f"ledger_values_{session.dialect}.sql")
    off = [
        {"table": r[0], "row": r[1], "column": r[2], "value": r[3], "problem": "not canonical"}
        for r in rows
    ]
    if session.dialect == "postgresql":
        for o in off:
            o["problem"] = "outside 1900..2199"
    if extraction is not None and extraction.lines.oversized is not None:
        off += [
            {
                "table": "postings",
                "row": f"entry_id={r['entry_id']} line_no={r['line_no']}",
                "column": "amount_cents",
                "value": str(r["amount_cents"]),
                "problem": f"beyond +/-{MAX_LINE_CENTS} cents",
            }
            for r in extraction.lines.oversized.head(200).to_dicts()
        ]
    passed = not off
    named = "; ".join(
        f"{o['table']}.{o['column']} {o['row']}: {o['value']!r} ({o['problem']})" for o in off[:20]
    )
    summary = (
        f"{_label(period_end)}: every ledger date, timestamp and amount read is valid"
        if passed
        else f"{_label(period_end)}: {len(off)}{'+' if len(rows) >= 200 else ''} ledger values "
        f"are invalid (dates YYYY-MM-DD, timestamps YYYY-MM-DD HH:MM:SS[.ffffff], "
        f"years 1900..2199): {named}"
    )
    return CheckOutcome("ledger_values_valid", passed, summary, len(off), 0, offending_rows(off))


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
    extraction: Extraction,
    closes: list[PeriodClose],
    trial_balance_before: Mapping[str, int] | None,
) -> tuple[list[CheckOutcome], dict[str, int]]:
    """The reconciliations of one period, and the period's trial balance
    (recorded, so the next period rolls it forward)."""
    snapshot, window = extraction.snapshot, extraction.window
    close = window.close
    # The first window holds every posting, so its full trial balance reads
    # no more than the window; later ones roll the recorded one forward.
    ledger = None
    if window.previous is not None:
        ledger = rolled_trial_balance(trial_balance_before, extraction.lines.gl_totals)
    if ledger is None:
        ledger = ledger_trial_balance(session, close)
    outcomes = [
        rollforward(snapshot, close.period_end),
        trial_balance(snapshot, close, ledger),
        carried_balances(session, snapshot, close),
        entries_balance(extraction),
        gl_accounts_known(extraction),
        idempotency_keys_unique(session, window),
        one_vehicle_per_account(session, close.period_end),
        period_closes_in_order(closes, close.period_end),
        ledger_values_valid(session, close.period_end, extraction),
    ]
    return outcomes, ledger


EXTRACTION_CHECKS = (
    (
        "rollforward",
        "Principal, interest and fee roll-forward per account and for the portfolio, to the cent.",
    ),
    (
        "trial_balance",
        "Sum of receivables equals the ledger's trial balance of receivable:* at the cutoff "
        "(the previous period's rolled forward by the window's lines).",
    ),
    (
        "carried_balances",
        "Carried balances equal a full recomputation from every posting (sampled accounts).",
    ),
    ("entries_balance", "Every entry newly counted in the period balances to zero."),
    ("gl_accounts_known", "Every posting is to a GL account of the chart of accounts."),
    (
        "idempotency_keys_unique",
        "No entry newly counted in the period shares its idempotency key with another entry.",
    ),
    ("one_vehicle_per_account", "No account is designated to two vehicles on the same date."),
    (
        "period_closes_in_order",
        "Period closes come after their period and after the previous close.",
    ),
    (
        "ledger_values_valid",
        "Every ledger date and timestamp read is canonical and in 1900..2199, and no posting "
        "line of the period exceeds $100 billion (named by table, row and value).",
    ),
)
