-- Dates and timestamps of a SQLite ledger that are not in the contract's
-- form (ledger.md, "Conventions"): a date is `YYYY-MM-DD` of a real calendar
-- day; a timestamp is that date, a space or `T`, `HH:MM:SS` and optional
-- fractional seconds. Both lie in 1900..2199. A value in any other form would
-- compare as NULL or as the wrong text and silently drop out of the window,
-- the balances and the trial balance alike, so every row is read: this is the
-- one full scan of the check, on the embedded engine only (PostgreSQL's types
-- enforce the form; `ledger_values_postgresql.sql` checks the range there).
WITH vals (table_name, row_key, column_name, kind, value) AS (
    SELECT 'journal_entries', 'entry_id=' || entry_id, 'posted_at', 'timestamp', posted_at FROM journal_entries
    UNION ALL
    SELECT 'journal_entries', 'entry_id=' || entry_id, 'effective_on', 'date', effective_on FROM journal_entries
    UNION ALL
    SELECT 'period_closes', 'period_end=' || period_end, 'closed_at', 'timestamp', closed_at FROM period_closes
    UNION ALL
    SELECT 'period_closes', 'period_end=' || period_end, 'period_end', 'date', period_end FROM period_closes
    UNION ALL
    SELECT 'accounts', 'account_id=' || account_id, 'opened_on', 'date', opened_on FROM accounts
    UNION ALL
    SELECT 'accounts', 'account_id=' || account_id, 'closed_on', 'date', closed_on FROM accounts
    WHERE closed_on IS NOT NULL
    UNION ALL
    SELECT 'account_terms', 'account_id=' || account_id, 'effective_on', 'date', effective_on FROM account_terms
    UNION ALL
    SELECT 'account_flags', 'account_id=' || account_id, 'raised_on', 'date', raised_on FROM account_flags
    UNION ALL
    SELECT 'account_flags', 'account_id=' || account_id, 'cleared_on', 'date', cleared_on FROM account_flags
    WHERE cleared_on IS NOT NULL
    UNION ALL
    SELECT 'credit_scores', 'account_id=' || account_id, 'as_of', 'date', as_of FROM credit_scores
    UNION ALL
    SELECT 'delinquency_snapshots', 'account_id=' || account_id, 'as_of', 'date', as_of FROM delinquency_snapshots
    UNION ALL
    SELECT 'vehicle_designations', 'account_id=' || account_id, 'designated_on', 'date', designated_on
    FROM vehicle_designations
    UNION ALL
    SELECT 'vehicle_designations', 'account_id=' || account_id, 'removed_on', 'date', removed_on
    FROM vehicle_designations WHERE removed_on IS NOT NULL
)
SELECT table_name, row_key, column_name, CAST(value AS TEXT)
FROM vals
WHERE NOT (
    typeof(value) = 'text'
    AND substr(value, 1, 10) GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'
    AND date(substr(value, 1, 10), '+0 days') = substr(value, 1, 10)
    AND substr(value, 1, 10) >= '1900-01-01'
    AND substr(value, 1, 10) < '2200-01-01'
    AND CASE kind
        WHEN 'date' THEN length(value) = 10
        ELSE substr(value, 11) GLOB '[ T][0-2][0-9]:[0-5][0-9]:[0-5][0-9]'
            OR (substr(value, 11) GLOB '[ T][0-2][0-9]:[0-5][0-9]:[0-5][0-9].[0-9]*'
                AND substr(value, 21) NOT GLOB '*[^0-9]*')
    END
    AND (kind = 'date' OR substr(value, 12, 2) < '24')
)
ORDER BY table_name, column_name, row_key
LIMIT 200
