-- Every posting line of the entries that newly count at P (ledger.md,
-- bitemporal rule): posted after the previous cutoff and effective by P's
-- end, or effective in P and posted by the previous cutoff. Each branch is a
-- range scan on one index, and the lines are found through the postings key,
-- so the query reads the window and nothing else. An entry without lines
-- comes back once with null line columns (it cannot balance).
WITH window_entries AS (
    SELECT e.entry_id, e.account_id, e.entry_type, e.effective_on
    FROM journal_entries e
    WHERE TS(e.posted_at) > TS(:prev_cutoff)
      AND TS(e.posted_at) <= TS(:cutoff)
      AND e.effective_on <= :period_end
    UNION ALL
    SELECT e.entry_id, e.account_id, e.entry_type, e.effective_on
    FROM journal_entries e
    WHERE e.effective_on > :prev_period_end
      AND e.effective_on <= :period_end
      AND TS(e.posted_at) <= TS(:prev_cutoff)
)
SELECT w.entry_id, w.account_id, w.entry_type, w.effective_on, p.line_no, p.gl_account, p.amount_cents
FROM window_entries w
LEFT JOIN postings p ON p.entry_id = w.entry_id
