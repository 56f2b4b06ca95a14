"""A month's journal entries and their posting lines, kept as numpy columns
while the month is simulated and turned into the `journal_entries` and
`postings` batches at its close."""

from __future__ import annotations

import numpy as np
import polars as pl

from funding.ledger.snapshot import ENTRY_TYPES, GL_ACCOUNTS

# Small integer codes keep a million accounts' entries compact until the frames are built.
_ENTRY_TYPE_CODE = {name: i for i, name in enumerate(ENTRY_TYPES)}
_GL_CODE = {name: i for i, name in enumerate(GL_ACCOUNTS)}


class Entries:
    """Accumulates journal entries and their posting lines for one month."""

    def __init__(self, next_entry_id: int):
        self.next_id = next_entry_id
        self.entries: list[dict[str, np.ndarray]] = []
        self.lines: list[dict[str, np.ndarray]] = []

    def add(self, entry_type: str, account_ids, effective_days, lines, reverses=None) -> np.ndarray:
        """Entries of one type; `lines` = [(gl_account, amounts)], zero lines omitted.

        Returns the ids given to the entries that were kept."""
        n = len(account_ids)
        lines = [
            (_GL_CODE[gl], np.broadcast_to(np.asarray(a, dtype=np.int64), (n,))) for gl, a in lines
        ]
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
                "type": np.full(n, _ENTRY_TYPE_CODE[entry_type], dtype=np.int8),
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
        """The month's `journal_entries` and `postings`, entries stamped with posting times."""
        cat = {k: np.concatenate([e[k] for e in self.entries]) for k in self.entries[0]}
        posted = _posting_times(rng, cat, close_day, late_share, no_late_accounts)
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
                    list(range(len(GL_ACCOUNTS))), list(GL_ACCOUNTS), return_dtype=pl.String
                ),
                "amount_cents": lines["amount_cents"],
            }
        ).sort("entry_id", "line_no")
        # Renumber lines 1..k per entry after zero lines were dropped.
        postings = postings.with_columns(
            (pl.int_range(pl.len()).over("entry_id") + 1).alias("line_no")
        )
        return entries.sort("entry_id"), postings


def _posting_times(
    rng: np.random.Generator,
    cat: dict[str, np.ndarray],
    close_day: np.datetime64,
    late_share: float,
    no_late_accounts: np.ndarray,
) -> np.ndarray:
    # Posted a few hours after the effective date; a small share after the
    # month's close (late postings), never for entries of accounts charged
    # off this month (their late postings would be a data-quality warning).
    n = len(cat["entry_id"])
    eff = cat["effective_day"].astype("datetime64[D]")
    posted = eff.astype("datetime64[us]") + (rng.integers(3_600, 40 * 3_600, n) * 1_000_000).astype(
        "timedelta64[us]"
    )
    late = (rng.random(n) < late_share) & ~np.isin(cat["account_id"], no_late_accounts)
    late &= cat["type"] != _ENTRY_TYPE_CODE["CHARGE_OFF"]
    late_at = close_day.astype("datetime64[us]") + (
        rng.integers(3_600, 72 * 3_600, n) * 1_000_000
    ).astype("timedelta64[us]")
    posted = np.where(late, late_at, posted)
    # Sub-second precision on some rows, as real ledgers have.
    return posted + (rng.integers(0, 1_000_000, n) * (rng.random(n) < 0.3)).astype(
        "timedelta64[us]"
    )
