-- Idempotency keys of entries newly counted at P that another entry uses too
-- (an event booked twice). Only run on a ledger whose UNIQUE constraint on
-- the key is missing (a copy, say): where the constraint exists, it is the proof.
WITH window_entries AS (
    SELECT e.idempotency_key
    FROM journal_entries e
    WHERE TS(e.posted_at) > TS(:prev_cutoff)
      AND TS(e.posted_at) <= TS(:cutoff)
      AND e.effective_on <= :period_end
    UNION ALL
    SELECT e.idempotency_key
    FROM journal_entries e
    WHERE e.effective_on > :prev_period_end
      AND e.effective_on <= :period_end
      AND TS(e.posted_at) <= TS(:prev_cutoff)
)
SELECT e.idempotency_key, MIN(e.entry_id) AS first_entry_id, MAX(e.entry_id) AS last_entry_id, COUNT(*) AS entries
FROM journal_entries e
WHERE e.idempotency_key IN (SELECT idempotency_key FROM window_entries)
GROUP BY e.idempotency_key
HAVING COUNT(*) > 1
ORDER BY e.idempotency_key
