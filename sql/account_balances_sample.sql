-- Full recomputation of receivable balances for a slice of accounts at a
-- cutoff, to prove that balances carried from period to period are right.
-- The slice is a range of account ids, read through the account index.
SELECT
    e.account_id,
    SUM(CASE WHEN p.gl_account = 'receivable:principal' THEN p.amount_cents ELSE 0 END) AS principal_cents,
    SUM(CASE WHEN p.gl_account = 'receivable:interest' THEN p.amount_cents ELSE 0 END) AS interest_cents,
    SUM(CASE WHEN p.gl_account = 'receivable:fees' THEN p.amount_cents ELSE 0 END) AS fees_cents
FROM journal_entries e
JOIN postings p ON p.entry_id = e.entry_id
WHERE e.account_id BETWEEN :low AND :high
  AND TS(e.posted_at) <= TS(:cutoff)
  AND e.effective_on <= :period_end
GROUP BY e.account_id
