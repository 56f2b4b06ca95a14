-- Full recomputation of receivable balances for a sample of accounts at a
-- cutoff, to prove that balances carried from period to period are right.
SELECT
    e.account_id,
    SUM(CASE WHEN p.gl_account = 'receivable:principal' THEN p.amount_cents ELSE 0 END) AS principal_cents,
    SUM(CASE WHEN p.gl_account = 'receivable:interest' THEN p.amount_cents ELSE 0 END) AS interest_cents,
    SUM(CASE WHEN p.gl_account = 'receivable:fees' THEN p.amount_cents ELSE 0 END) AS fees_cents
FROM journal_entries e
JOIN postings p ON p.entry_id = e.entry_id
WHERE TS(e.posted_at) <= TS(:cutoff)
  AND e.effective_on <= :period_end
  AND (e.account_id - (e.account_id / :sample_every) * :sample_every) = :sample_remainder
GROUP BY e.account_id
