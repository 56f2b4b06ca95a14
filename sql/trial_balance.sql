-- The ledger's own trial balance of the receivable GL accounts at a cutoff:
-- every posting that counts at P, whatever period it first counted in.
SELECT p.gl_account, SUM(p.amount_cents) AS balance_cents
FROM journal_entries e
JOIN postings p ON p.entry_id = e.entry_id
WHERE TS(e.posted_at) <= TS(:cutoff)
  AND e.effective_on <= :period_end
  AND p.gl_account IN ('receivable:principal', 'receivable:interest', 'receivable:fees')
GROUP BY p.gl_account
