-- Entries newly counted in the period whose lines do not sum to zero.
WITH window_entries AS (
    SELECT e.entry_id, e.account_id
    FROM journal_entries e
    WHERE TS(e.posted_at) <= TS(:cutoff)
      AND e.effective_on <= :period_end
      AND (TS(e.posted_at) > TS(:prev_cutoff) OR e.effective_on > :prev_period_end)
)
SELECT w.entry_id, w.account_id, COALESCE(SUM(p.amount_cents), 0) AS imbalance_cents, COUNT(p.line_no) AS lines
FROM window_entries w
LEFT JOIN postings p ON p.entry_id = w.entry_id
GROUP BY w.entry_id, w.account_id
HAVING COALESCE(SUM(p.amount_cents), 0) <> 0 OR COUNT(p.line_no) = 0
ORDER BY w.entry_id
