-- Dates and timestamps of a PostgreSQL ledger outside 1900..2199 (the types
-- enforce the form, but accept `infinity` and any year up to 294276).
-- journal_entries is searched through its posted_at and effective_on indexes.
SELECT 'journal_entries', 'entry_id=' || entry_id, 'posted_at', posted_at::text
FROM journal_entries WHERE posted_at < '1900-01-01' OR posted_at >= '2200-01-01'
UNION ALL
SELECT 'journal_entries', 'entry_id=' || entry_id, 'effective_on', effective_on::text
FROM journal_entries WHERE effective_on < '1900-01-01' OR effective_on >= '2200-01-01'
UNION ALL
SELECT 'period_closes', 'period_end=' || period_end, 'closed_at', closed_at::text
FROM period_closes WHERE closed_at < '1900-01-01' OR closed_at >= '2200-01-01'
UNION ALL
SELECT 'period_closes', 'period_end=' || period_end, 'period_end', period_end::text
FROM period_closes WHERE period_end < '1900-01-01' OR period_end >= '2200-01-01'
UNION ALL
SELECT 'accounts', 'account_id=' || account_id, 'opened_on', opened_on::text
FROM accounts WHERE opened_on < '1900-01-01' OR opened_on >= '2200-01-01'
UNION ALL
SELECT 'accounts', 'account_id=' || account_id, 'closed_on', closed_on::text
FROM accounts WHERE closed_on < '1900-01-01' OR closed_on >= '2200-01-01'
UNION ALL
SELECT 'account_terms', 'account_id=' || account_id, 'effective_on', effective_on::text
FROM account_terms WHERE effective_on < '1900-01-01' OR effective_on >= '2200-01-01'
UNION ALL
SELECT 'vehicle_designations', 'account_id=' || account_id, 'designated_on', designated_on::text
FROM vehicle_designations WHERE designated_on < '1900-01-01' OR designated_on >= '2200-01-01'
UNION ALL
SELECT 'vehicle_designations', 'account_id=' || account_id, 'removed_on', removed_on::text
FROM vehicle_designations WHERE removed_on < '1900-01-01' OR removed_on >= '2200-01-01'
ORDER BY 1, 3, 2
LIMIT 200
