-- Idempotency keys used by more than one entry (the UNIQUE constraint may be
-- missing on a copy of the ledger; a duplicate means an event was booked twice).
SELECT idempotency_key, MIN(entry_id) AS first_entry_id, MAX(entry_id) AS last_entry_id, COUNT(*) AS entries
FROM journal_entries
GROUP BY idempotency_key
HAVING COUNT(*) > 1
ORDER BY idempotency_key
