-- Every account opened by the period end, with its terms, current score and
-- delinquency as of the period end (ledger.md: terms/scores = latest row on or
-- before the date; no delinquency row = current).
-- The latest row per account is found in one ordered pass over each table's
-- key (account_id, date), not by joining a grouped maximum back.
WITH terms AS (
    SELECT account_id, credit_limit_cents, purchase_apr_bps
    FROM (
        SELECT account_id, credit_limit_cents, purchase_apr_bps,
               ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY effective_on DESC) AS latest
        FROM account_terms
        WHERE effective_on <= :period_end
    ) t
    WHERE latest = 1
),
scores AS (
    SELECT account_id, fico, score_model
    FROM (
        SELECT account_id, fico, score_model,
               ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY as_of DESC) AS latest
        FROM credit_scores
        WHERE as_of <= :period_end
    ) s
    WHERE latest = 1
)
SELECT
    a.account_id,
    a.product_code,
    a.opened_on,
    CASE WHEN a.closed_on <= :period_end THEN a.closed_on END AS closed_on,
    CASE WHEN a.closed_on <= :period_end THEN a.close_reason END AS close_reason,
    a.origination_fico,
    a.origination_income_cents,
    a.risk_grade,
    a.channel,
    a.billing_state,
    t.credit_limit_cents,
    t.purchase_apr_bps,
    s.fico AS current_fico,
    s.score_model AS current_score_model,
    COALESCE(d.days_past_due, 0) AS days_past_due,
    COALESCE(d.past_due_cents, 0) AS past_due_cents
FROM accounts a
LEFT JOIN terms t ON t.account_id = a.account_id
LEFT JOIN scores s ON s.account_id = a.account_id
LEFT JOIN delinquency_snapshots d ON d.account_id = a.account_id AND d.as_of = :period_end
WHERE a.opened_on <= :period_end
