-- Postings newly counted in the period to a GL account outside the chart of accounts.
SELECT e.entry_id, e.account_id, p.line_no, p.gl_account
FROM journal_entries e
JOIN postings p ON p.entry_id = e.entry_id
WHERE TS(e.posted_at) <= TS(:cutoff)
  AND e.effective_on <= :period_end
  AND (TS(e.posted_at) > TS(:prev_cutoff) OR e.effective_on > :prev_period_end)
  AND p.gl_account NOT IN ('receivable:principal', 'receivable:interest', 'receivable:fees',
                           'cash:collections', 'merchant:settlement', 'income:interest', 'income:fees',
                           'income:recoveries', 'chargeoff:principal', 'chargeoff:interest', 'chargeoff:fees')
ORDER BY e.entry_id, p.line_no
