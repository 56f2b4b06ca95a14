-- Flags active at the period end.
SELECT account_id, flag
FROM account_flags
WHERE raised_on <= :period_end
  AND (cleared_on IS NULL OR cleared_on > :period_end)
