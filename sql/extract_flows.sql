-- Period flows per account (ledger.md, bitemporal rule).
-- A posting counts at P when posted_at <= :cutoff and effective_on <= :period_end.
-- Flows of P are what counts at P and did not count at the previous closed
-- period (:prev_cutoff, :prev_period_end). The two branches are the two ways a
-- posting becomes newly counted; each is a range scan on one index.
-- TS(x) normalises a timestamp for comparison (identity on PostgreSQL).
WITH flow_entries AS (
    SELECT e.entry_id, e.account_id, e.entry_type, e.effective_on
    FROM journal_entries e
    WHERE TS(e.posted_at) > TS(:prev_cutoff)
      AND TS(e.posted_at) <= TS(:cutoff)
      AND e.effective_on <= :period_end
    UNION ALL
    SELECT e.entry_id, e.account_id, e.entry_type, e.effective_on
    FROM journal_entries e
    WHERE e.effective_on > :prev_period_end
      AND e.effective_on <= :period_end
      AND TS(e.posted_at) <= TS(:prev_cutoff)
)
SELECT
    f.account_id,
    SUM(CASE WHEN p.gl_account = 'receivable:principal' THEN p.amount_cents ELSE 0 END) AS principal_flow_cents,
    SUM(CASE WHEN p.gl_account = 'receivable:interest' THEN p.amount_cents ELSE 0 END) AS interest_flow_cents,
    SUM(CASE WHEN p.gl_account = 'receivable:fees' THEN p.amount_cents ELSE 0 END) AS fees_flow_cents,
    SUM(CASE WHEN f.entry_type = 'PURCHASE' AND p.gl_account = 'receivable:principal' THEN p.amount_cents ELSE 0 END) AS purchases_cents,
    -SUM(CASE WHEN f.entry_type = 'RETURN' AND p.gl_account = 'receivable:principal' THEN p.amount_cents ELSE 0 END) AS returns_cents,
    -SUM(CASE WHEN f.entry_type IN ('PAYMENT', 'PAYMENT_REVERSAL') AND p.gl_account = 'receivable:principal' THEN p.amount_cents ELSE 0 END) AS principal_collections_cents,
    -SUM(CASE WHEN f.entry_type IN ('PAYMENT', 'PAYMENT_REVERSAL') AND p.gl_account = 'receivable:interest' THEN p.amount_cents ELSE 0 END) AS interest_collections_cents,
    -SUM(CASE WHEN f.entry_type IN ('PAYMENT', 'PAYMENT_REVERSAL') AND p.gl_account = 'receivable:fees' THEN p.amount_cents ELSE 0 END) AS fee_collections_cents,
    SUM(CASE WHEN f.entry_type = 'INTEREST_CHARGE' AND p.gl_account = 'receivable:interest' THEN p.amount_cents ELSE 0 END) AS interest_billed_cents,
    SUM(CASE WHEN f.entry_type = 'FEE_CHARGE' AND p.gl_account = 'receivable:fees' THEN p.amount_cents ELSE 0 END) AS fees_billed_cents,
    -SUM(CASE WHEN f.entry_type = 'WAIVER' AND p.gl_account = 'receivable:interest' THEN p.amount_cents ELSE 0 END) AS interest_waivers_cents,
    -SUM(CASE WHEN f.entry_type = 'WAIVER' AND p.gl_account = 'receivable:fees' THEN p.amount_cents ELSE 0 END) AS fee_waivers_cents,
    -SUM(CASE WHEN f.entry_type = 'CHARGE_OFF' AND p.gl_account = 'receivable:principal' THEN p.amount_cents ELSE 0 END) AS chargeoff_principal_cents,
    -SUM(CASE WHEN f.entry_type = 'CHARGE_OFF' AND p.gl_account = 'receivable:interest' THEN p.amount_cents ELSE 0 END) AS chargeoff_interest_cents,
    -SUM(CASE WHEN f.entry_type = 'CHARGE_OFF' AND p.gl_account = 'receivable:fees' THEN p.amount_cents ELSE 0 END) AS chargeoff_fees_cents,
    SUM(CASE WHEN f.entry_type = 'RECOVERY' AND p.gl_account = 'cash:collections' THEN p.amount_cents ELSE 0 END) AS recoveries_cents,
    SUM(CASE WHEN p.amount_cents <> 0 THEN 1 ELSE 0 END) AS nonzero_lines,
    MIN(CASE WHEN f.entry_type = 'CHARGE_OFF' THEN f.effective_on END) AS chargeoff_on,
    SUM(CASE WHEN f.entry_type <> 'CHARGE_OFF' AND p.gl_account IN ('receivable:principal', 'receivable:interest', 'receivable:fees')
              AND p.amount_cents <> 0 THEN 1 ELSE 0 END) AS receivable_lines,
    MAX(CASE WHEN f.entry_type <> 'CHARGE_OFF' AND p.gl_account IN ('receivable:principal', 'receivable:interest', 'receivable:fees')
              AND p.amount_cents <> 0 THEN f.effective_on END) AS last_receivable_effective_on
FROM flow_entries f
JOIN postings p ON p.entry_id = f.entry_id
GROUP BY f.account_id
