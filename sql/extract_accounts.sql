-- Every account opened by the period end, with its terms, current score and
-- delinquency as of the period end (ledger.md: terms/scores = latest row on or
-- before the date; no delinquency row = current).
WITH terms AS (
    SELECT t.account_id, t.credit_limit_cents, t.purchase_apr_bps
    FROM account_terms t
    JOIN (
        SELECT account_id, MAX(effective_on) AS effective_on
        FROM account_terms
        WHERE effective_on <= :period_end
        GROUP BY account_id
    ) latest ON latest.account_id = t.account_id AND latest.effective_on = t.effective_on
),
scores AS (
    SELECT s.account_id, s.fico, s.score_model
    FROM credit_scores s
    JOIN (
        SELECT account_id, MAX(as_of) AS as_of
        FROM credit_scores
        WHERE as_of <= :period_end
        GROUP BY account_id
    ) latest ON latest.account_id = s.account_id AND latest.as_of = s.as_of
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
