"""Pool measures, roll-forward, delinquency and performance rows (metrics.md).

The generated-ledger tests compare `funding.pool` with an independent
recomputation written in plain SQL against the ledger tables: the
bitemporal rule, activity, designations and pool membership are
re-implemented in `ACCOUNT_STATE_SQL` / `POOL_SQL` below, without calling
the extraction or the code under test.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from funding.demo import SeedConfig, seed_ledger
from funding.ledger.database import read_ledger
from funding.ledger.extract import extract_snapshot
from funding.ledger.snapshot import DPD_BUCKETS
from funding.performance.pool import (
    HEADLINE_RATIOS,
    delinquency_table,
    performance_row,
    performance_table,
    pool_measures,
    pool_rollforward,
    with_shares,
)
from funding.performance.ratios import (
    DEFAULT_RATIO_SCHEDULE,
    POOL_MEASURE_NAMES,
    RatioSchedule,
    compute_ratios,
)
from tests.support.snapshot_rows import snapshot_frame

VEHICLES = (None, "wh1", "trust1")  # None = the portfolio
NO_DATE, NO_TIME = "0001-01-01", "0001-01-01 00:00:00"

# ------------------------------------------------------------------ ledger fixture


@pytest.fixture(scope="module")
def ledger(tmp_path_factory) -> dict[str, Any]:
    """A small synthetic ledger (10 months: the warehouse-to-trust move of
    month 8 is in it) and the snapshot of every closed period."""
    path = tmp_path_factory.mktemp("ledger") / "ledger.sqlite"
    url = f"sqlite:///{path}"
    seed_ledger(url, SeedConfig(accounts=1_500, months=10, seed=11))
    snapshots: list[pl.DataFrame] = []
    with read_ledger(url) as session:
        closes = session.period_closes()
        prev = None
        for close in closes:
            snapshots.append(
                extract_snapshot(session, close, prev, snapshots[-1] if snapshots else None)
            )
            prev = close
    return {"path": path, "snapshots": snapshots}


# --------------------------------------------------------- independent recomputation

# Per account at P: balances at P and P-1, P's flows, activity at P and P-1,
# designation at E(P) and E(P-1), DPD bucket at P. A posting counts at a
# period when posted_at <= its close (compared as timestamps) and
# effective_on <= its end; P's flows count at P and not at P-1.
ACCOUNT_STATE_SQL = """
CREATE TEMP TABLE account_state AS
WITH counted AS MATERIALIZED (
    SELECT e.account_id, e.entry_type AS kind, p.gl_account AS gl, p.amount_cents AS amt,
           (strftime('%Y-%m-%d %H:%M:%f', e.posted_at) <= strftime('%Y-%m-%d %H:%M:%f', :cutoff)
            AND e.effective_on <= :period_end) AS at_p,
           (strftime('%Y-%m-%d %H:%M:%f', e.posted_at) <= strftime('%Y-%m-%d %H:%M:%f', :cutoff1)
            AND e.effective_on <= :end1) AS at_p1,
           (strftime('%Y-%m-%d %H:%M:%f', e.posted_at) <= strftime('%Y-%m-%d %H:%M:%f', :cutoff2)
            AND e.effective_on <= :end2) AS at_p2
    FROM journal_entries e
    JOIN postings p ON p.entry_id = e.entry_id
),
lines AS (
    SELECT *, (at_p AND NOT at_p1) AS new_p, (at_p1 AND NOT at_p2) AS new_p1 FROM counted
),
sums AS (
    SELECT
        account_id,
        SUM(CASE WHEN at_p AND gl = 'receivable:principal' THEN amt ELSE 0 END) AS principal,
        SUM(CASE WHEN at_p AND gl = 'receivable:interest' THEN amt ELSE 0 END) AS interest,
        SUM(CASE WHEN at_p AND gl = 'receivable:fees' THEN amt ELSE 0 END) AS fees,
        SUM(CASE WHEN at_p1 AND gl = 'receivable:principal' THEN amt ELSE 0 END) AS principal1,
        SUM(CASE WHEN at_p1 AND gl = 'receivable:interest' THEN amt ELSE 0 END) AS interest1,
        SUM(CASE WHEN at_p1 AND gl = 'receivable:fees' THEN amt ELSE 0 END) AS fees1,
        SUM(CASE WHEN new_p AND amt <> 0 THEN 1 ELSE 0 END) AS new_lines,
        SUM(CASE WHEN new_p1 AND amt <> 0 THEN 1 ELSE 0 END) AS new_lines1,
        SUM(CASE WHEN new_p AND kind = 'PURCHASE' AND gl = 'receivable:principal'
                 THEN amt ELSE 0 END) AS purchases,
        -SUM(CASE WHEN new_p AND kind = 'RETURN' AND gl = 'receivable:principal'
                  THEN amt ELSE 0 END) AS returns,
        -SUM(CASE WHEN new_p AND kind IN ('PAYMENT', 'PAYMENT_REVERSAL')
                  AND gl = 'receivable:principal' THEN amt ELSE 0 END) AS principal_collections,
        -SUM(CASE WHEN new_p AND kind IN ('PAYMENT', 'PAYMENT_REVERSAL')
                  AND gl = 'receivable:interest' THEN amt ELSE 0 END) AS interest_collections,
        -SUM(CASE WHEN new_p AND kind IN ('PAYMENT', 'PAYMENT_REVERSAL')
                  AND gl = 'receivable:fees' THEN amt ELSE 0 END) AS fee_collections,
        SUM(CASE WHEN new_p AND kind = 'INTEREST_CHARGE' AND gl = 'receivable:interest'
                 THEN amt ELSE 0 END) AS interest_billed,
        SUM(CASE WHEN new_p AND kind = 'FEE_CHARGE' AND gl = 'receivable:fees'
                 THEN amt ELSE 0 END) AS fees_billed,
        -SUM(CASE WHEN new_p AND kind = 'WAIVER' AND gl = 'receivable:interest'
                  THEN amt ELSE 0 END) AS interest_waivers,
        -SUM(CASE WHEN new_p AND kind = 'WAIVER' AND gl = 'receivable:fees'
                  THEN amt ELSE 0 END) AS fee_waivers,
        -SUM(CASE WHEN new_p AND kind = 'CHARGE_OFF' AND gl = 'receivable:principal'
                  THEN amt ELSE 0 END) AS chargeoff_principal,
        -SUM(CASE WHEN new_p AND kind = 'CHARGE_OFF' AND gl = 'receivable:interest'
                  THEN amt ELSE 0 END) AS chargeoff_interest,
        -SUM(CASE WHEN new_p AND kind = 'CHARGE_OFF' AND gl = 'receivable:fees'
                  THEN amt ELSE 0 END) AS chargeoff_fees,
        SUM(CASE WHEN new_p AND kind = 'RECOVERY' AND gl = 'cash:collections'
                 THEN amt ELSE 0 END) AS recoveries,
        MAX(CASE WHEN at_p AND kind = 'CHARGE_OFF' THEN 1 ELSE 0 END) AS charged_off
    FROM lines
    GROUP BY account_id
)
SELECT
    s.*,
    (s.principal <> 0 OR s.interest <> 0 OR s.fees <> 0 OR s.new_lines > 0) AS active,
    (s.principal1 <> 0 OR s.interest1 <> 0 OR s.fees1 <> 0 OR s.new_lines1 > 0) AS active1,
    (SELECT MIN(d.vehicle_id) FROM vehicle_designations d
      WHERE d.account_id = s.account_id AND d.designated_on <= :period_end
        AND (d.removed_on IS NULL OR d.removed_on > :period_end)) AS vehicle,
    (SELECT MIN(d.vehicle_id) FROM vehicle_designations d
      WHERE d.account_id = s.account_id AND d.designated_on <= :end1
        AND (d.removed_on IS NULL OR d.removed_on > :end1)) AS vehicle1,
    CASE WHEN s.charged_off = 1 THEN 'charged_off' ELSE COALESCE(
        (SELECT CASE WHEN q.days_past_due < 30 THEN '1_29'
                     WHEN q.days_past_due < 60 THEN '30_59'
                     WHEN q.days_past_due < 90 THEN '60_89'
                     WHEN q.days_past_due < 120 THEN '90_119'
                     WHEN q.days_past_due < 150 THEN '120_149'
                     WHEN q.days_past_due < 180 THEN '150_179'
                     ELSE '180_plus' END
           FROM delinquency_snapshots q
          WHERE q.account_id = s.account_id AND q.as_of = :period_end), 'current') END AS bucket
FROM sums s
"""

# The pool at P (active, designated at E(P)) and at P-1; :vehicle NULL = portfolio.
POOL_SQL = """
WITH m AS (
    SELECT *,
           COALESCE(active = 1 AND (:vehicle IS NULL OR vehicle = :vehicle), 0) AS now_in,
           COALESCE(active1 = 1 AND (:vehicle IS NULL OR vehicle1 = :vehicle), 0) AS was_in
    FROM account_state
)
SELECT
    COALESCE(SUM(CASE WHEN now_in THEN purchases END), 0) AS purchases,
    COALESCE(SUM(CASE WHEN now_in THEN returns END), 0) AS returns,
    COALESCE(SUM(CASE WHEN now_in THEN principal_collections END), 0) AS principal_collections,
    COALESCE(SUM(CASE WHEN now_in THEN interest_collections END), 0) AS interest_collections,
    COALESCE(SUM(CASE WHEN now_in THEN fee_collections END), 0) AS fee_collections,
    COALESCE(SUM(CASE WHEN now_in THEN interest_collections + fee_collections END), 0)
        AS finance_charge_collections,
    COALESCE(SUM(CASE WHEN now_in THEN interest_billed END), 0) AS interest_billed,
    COALESCE(SUM(CASE WHEN now_in THEN fees_billed END), 0) AS fees_billed,
    COALESCE(SUM(CASE WHEN now_in THEN interest_waivers END), 0) AS interest_waivers,
    COALESCE(SUM(CASE WHEN now_in THEN fee_waivers END), 0) AS fee_waivers,
    COALESCE(SUM(CASE WHEN now_in THEN chargeoff_principal END), 0) AS chargeoff_principal,
    COALESCE(SUM(CASE WHEN now_in THEN chargeoff_interest END), 0) AS chargeoff_interest,
    COALESCE(SUM(CASE WHEN now_in THEN chargeoff_fees END), 0) AS chargeoff_fees,
    COALESCE(SUM(CASE WHEN now_in THEN recoveries END), 0) AS recoveries,
    COALESCE(SUM(CASE WHEN was_in THEN principal1 END), 0) AS beginning_principal,
    COALESCE(SUM(CASE WHEN was_in THEN interest1 END), 0) AS beginning_interest,
    COALESCE(SUM(CASE WHEN was_in THEN fees1 END), 0) AS beginning_fees,
    COALESCE(SUM(CASE WHEN was_in THEN principal1 + interest1 + fees1 END), 0) AS beginning_total,
    COALESCE(SUM(CASE WHEN now_in THEN principal END), 0) AS ending_principal,
    COALESCE(SUM(CASE WHEN now_in THEN interest END), 0) AS ending_interest,
    COALESCE(SUM(CASE WHEN now_in THEN fees END), 0) AS ending_fees,
    COALESCE(SUM(CASE WHEN now_in THEN principal + interest + fees END), 0) AS ending_total,
    COALESCE(SUM(CASE WHEN now_in AND NOT was_in THEN principal1 END), 0) AS additions,
    COALESCE(SUM(CASE WHEN was_in AND NOT now_in THEN principal1 END), 0) AS removals,
    COALESCE(SUM(CASE WHEN now_in AND NOT was_in THEN interest1 END), 0) AS additions_interest,
    COALESCE(SUM(CASE WHEN now_in AND NOT was_in THEN fees1 END), 0) AS additions_fees,
    COALESCE(SUM(CASE WHEN was_in AND NOT now_in THEN interest1 END), 0) AS removals_interest,
    COALESCE(SUM(CASE WHEN was_in AND NOT now_in THEN fees1 END), 0) AS removals_fees,
    COALESCE(SUM(CASE WHEN now_in THEN chargeoff_principal - recoveries END), 0) AS net_chargeoffs,
    COALESCE(SUM(now_in), 0) AS account_count,
    COALESCE(SUM(CASE WHEN now_in AND (principal <> 0 OR interest <> 0 OR fees <> 0) THEN 1 END), 0)
        AS active_account_count,
    COALESCE(SUM(CASE WHEN now_in AND bucket = 'current' THEN principal + interest + fees END), 0)
        AS delinquent_current,
    COALESCE(SUM(CASE WHEN now_in AND bucket = '1_29' THEN principal + interest + fees END), 0)
        AS delinquent_1_29,
    COALESCE(SUM(CASE WHEN now_in AND bucket = '30_59' THEN principal + interest + fees END), 0)
        AS delinquent_30_59,
    COALESCE(SUM(CASE WHEN now_in AND bucket = '60_89' THEN principal + interest + fees END), 0)
        AS delinquent_60_89,
    COALESCE(SUM(CASE WHEN now_in AND bucket = '90_119' THEN principal + interest + fees END), 0)
        AS delinquent_90_119,
    COALESCE(SUM(CASE WHEN now_in AND bucket = '120_149' THEN principal + interest + fees END), 0)
        AS delinquent_120_149,
    COALESCE(SUM(CASE WHEN now_in AND bucket = '150_179' THEN principal + interest + fees END), 0)
        AS delinquent_150_179,
    COALESCE(SUM(CASE WHEN now_in AND bucket = '180_plus' THEN principal + interest + fees END), 0)
        AS delinquent_180_plus,
    COALESCE(SUM(CASE WHEN now_in AND bucket = 'charged_off'
                      THEN principal + interest + fees END), 0) AS delinquent_charged_off
FROM m
"""

TRIAL_BALANCE_SQL = """
SELECT COALESCE(SUM(p.amount_cents), 0)
FROM journal_entries e JOIN postings p ON p.entry_id = e.entry_id
WHERE strftime('%Y-%m-%d %H:%M:%f', e.posted_at) <= strftime('%Y-%m-%d %H:%M:%f', :cutoff)
  AND e.effective_on <= :period_end
  AND p.gl_account IN ('receivable:principal', 'receivable:interest', 'receivable:fees')
"""


@pytest.fixture(scope="module")
def sql_pools(ledger) -> dict[tuple[str, str | None], dict[str, int]]:
    """(period end ISO, vehicle) -> the pool measures recomputed in SQL."""
    db = sqlite3.connect(ledger["path"])
    closes = db.execute("SELECT period_end, closed_at FROM period_closes ORDER BY period_end")
    closes = [(NO_DATE, NO_TIME), (NO_DATE, NO_TIME), *closes.fetchall()]
    pools: dict[tuple[str, str | None], dict[str, int]] = {}
    for (end2, cutoff2), (end1, cutoff1), (period_end, cutoff) in zip(
        closes, closes[1:], closes[2:], strict=False
    ):
        db.execute("DROP TABLE IF EXISTS account_state")
        db.execute(
            ACCOUNT_STATE_SQL,
            dict(period_end=period_end, cutoff=cutoff, end1=end1, cutoff1=cutoff1)
            | dict(end2=end2, cutoff2=cutoff2),
        )
        for vehicle in VEHICLES:
            cur = db.execute(POOL_SQL, {"vehicle": vehicle})
            names = [d[0] for d in cur.description]
            pools[(period_end, vehicle)] = dict(zip(names, cur.fetchone(), strict=True))
        tb = db.execute(TRIAL_BALANCE_SQL, {"cutoff": cutoff, "period_end": period_end})
        pools[(period_end, "trial_balance")] = {"total": tb.fetchone()[0]}
    db.close()
    return pools


# ------------------------------------------------------------------ against the ledger


@pytest.mark.parametrize("vehicle", VEHICLES, ids=["portfolio", "wh1", "trust1"])
def test_pool_measures_equal_independent_sql(ledger, sql_pools, vehicle):
    for snapshot in ledger["snapshots"]:
        period = snapshot["period_end"][0].isoformat()
        expected: dict[str, Any] = dict(sql_pools[(period, vehicle)])
        expected["average_principal"] = (
            Decimal(expected["beginning_principal"] + expected["ending_principal"]) / 2
        )
        measures = pool_measures(snapshot, vehicle)
        assert list(measures) == list(POOL_MEASURE_NAMES)
        assert measures == {name: expected[name] for name in POOL_MEASURE_NAMES}, period


def test_portfolio_ending_total_equals_trial_balance(ledger, sql_pools):
    for snapshot in ledger["snapshots"]:
        period = snapshot["period_end"][0].isoformat()
        tb = sql_pools[(period, "trial_balance")]["total"]
        assert pool_measures(snapshot, None)["ending_total"] == tb


def test_the_ledger_exercises_additions_removals_and_charge_offs(sql_pools):
    """Guard: the equalities above mean little if nothing moves between pools."""
    wh1 = [m for (_, v), m in sql_pools.items() if v == "wh1"]
    trust1 = [m for (_, v), m in sql_pools.items() if v == "trust1"]
    portfolio = [m for (_, v), m in sql_pools.items() if v is None]
    assert any(m["removals"] > 0 for m in wh1)
    assert any(m["additions"] > 0 for m in trust1)
    assert any(m["chargeoff_principal"] > 0 for m in portfolio)
    assert any(m["delinquent_60_89"] > 0 for m in portfolio)


@pytest.mark.parametrize("vehicle", VEHICLES, ids=["portfolio", "wh1", "trust1"])
def test_rollforward_holds_to_the_cent(ledger, vehicle):
    previous_end: dict[str, int] | None = None
    for snapshot in ledger["snapshots"]:
        rollforward = pool_rollforward(snapshot, vehicle)
        assert rollforward["receivable"].to_list() == ["principal", "interest", "fees"]
        assert rollforward["difference_cents"].to_list() == [0, 0, 0]
        begin = dict(zip(rollforward["receivable"], rollforward["begin_cents"], strict=True))
        if previous_end is not None:  # P's beginning is P-1's ending, pool by pool
            assert begin == previous_end
        previous_end = dict(zip(rollforward["receivable"], rollforward["end_cents"], strict=True))


def test_delinquency_table_matches_measures(ledger):
    for snapshot in ledger["snapshots"]:
        for vehicle in VEHICLES:
            table = delinquency_table(snapshot, vehicle)
            measures = pool_measures(snapshot, vehicle)
            assert table["bucket"].to_list() == list(DPD_BUCKETS)
            assert table["amount_cents"].to_list() == [
                measures[f"delinquent_{b}"] for b in DPD_BUCKETS
            ]
            assert table["account_count"].sum() == measures["account_count"]
            if measures["ending_total"]:
                assert table["pct_of_total_receivables"].sum() == Decimal(1)


def test_performance_table_over_the_ledger(ledger):
    history = [(s["period_end"][0], pool_measures(s, None)) for s in ledger["snapshots"]]
    table = performance_table(history)
    assert table.height == len(history)
    assert table["ending_total_cents"].dtype == pl.Int64
    assert table["average_principal_cents"].dtype == pl.Decimal(38, 1)
    # each row's ratios are compute_ratios' exact values
    last_end, last = history[-1]
    definitions = DEFAULT_RATIO_SCHEDULE.definitions
    prior = [
        {n: None if v is None else Decimal(v) for n, v in row.items()}
        for row in table.head(len(history) - 1).select(list(definitions)).iter_rows(named=True)
    ]
    expected = compute_ratios(last, last_end.day, definitions, history=prior)
    row = table.row(-1, named=True)
    assert {n: None if row[n] is None else Decimal(row[n]) for n in expected} == expected
    assert performance_row(history).row(0, named=True) == row


# ------------------------------------------------------------------ hand-made frames

PERIOD = date(2025, 3, 31)


def test_empty_pool_is_zero_and_null_not_an_error():
    empty = snapshot_frame()
    measures = pool_measures(empty, "wh1")
    assert all(value == 0 for value in measures.values())
    assert pool_rollforward(empty, None)["difference_cents"].to_list() == [0, 0, 0]
    table = delinquency_table(empty, None)
    assert table["amount_cents"].to_list() == [0] * len(DPD_BUCKETS)
    assert table["pct_of_total_receivables"].null_count() == len(DPD_BUCKETS)
    row = performance_row([(PERIOD, measures)]).row(0, named=True)
    assert row["payment_rate"] is None and row["delinquency_60_plus"] is None


def test_a_vehicle_move_is_a_removal_and_an_addition_at_the_prior_balance():
    moved = {
        "vehicle_id": "trust1",
        "prev_vehicle_id": "wh1",
        "was_active": True,
        "begin_principal_cents": 10_000,
        "begin_interest_cents": 150,
        "begin_fees_cents": 2_900,
        "principal_cents": 12_000,
        "interest_cents": 150,
        "fees_cents": 2_900,
        "purchases_cents": 2_000,
    }
    stays = {
        "vehicle_id": "wh1",
        "prev_vehicle_id": "wh1",
        "was_active": True,
        "begin_principal_cents": 5_001,
        "principal_cents": 4_000,
        "principal_collections_cents": 1_001,
    }
    snapshot = snapshot_frame(moved, stays)
    wh1, trust1 = pool_measures(snapshot, "wh1"), pool_measures(snapshot, "trust1")
    assert (wh1["removals"], wh1["removals_interest"], wh1["removals_fees"]) == (10_000, 150, 2_900)
    assert (trust1["additions"], trust1["additions_interest"]) == (10_000, 150)
    assert wh1["beginning_principal"] == 15_001 and wh1["ending_principal"] == 4_000
    assert wh1["average_principal"] == Decimal("9500.5")  # exact half cent
    assert trust1["purchases"] == 2_000 and wh1["purchases"] == 0
    for vehicle in (None, "wh1", "trust1"):
        assert pool_rollforward(snapshot, vehicle)["difference_cents"].to_list() == [0, 0, 0]


def test_active_account_count_counts_any_nonzero_receivable():
    snapshot = snapshot_frame(
        {"principal_cents": -100, "fees_cents": 100},  # total zero, balances not
        {"principal_cents": 0, "recoveries_cents": 500},  # active through a flow only
        {"principal_cents": 700, "is_active": False},  # not in any pool
    )
    measures = pool_measures(snapshot, None)
    assert (measures["account_count"], measures["active_account_count"]) == (2, 1)
    assert measures["net_chargeoffs"] == -500


def test_two_periods_in_one_frame_are_refused():
    frame = pl.concat([snapshot_frame({}), snapshot_frame({}, period_end=date(2025, 4, 30))])
    with pytest.raises(ValueError, match="2 periods"):
        pool_measures(frame, None)


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        ([1, 1, 1], ["0.333333333334", "0.333333333333", "0.333333333333"]),
        ([2, 1], ["0.666666666667", "0.333333333333"]),
        ([-100, 300], ["-0.500000000000", "1.500000000000"]),  # credit balances
        ([0, 0], [None, None]),
        ([10**15, 1], ["1.000000000000", "0.000000000000"]),  # largest remainder wins
    ],
)
def test_shares_sum_to_exactly_one(amounts, expected):
    frame = with_shares(pl.DataFrame({"amount": amounts}), "amount", "share")
    assert frame["share"].to_list() == [None if e is None else Decimal(e) for e in expected]


def test_three_month_average_needs_three_periods_and_follows_the_schedule():
    def measures(collections: int) -> dict[str, Any]:
        return {n: 0 for n in POOL_MEASURE_NAMES} | {
            "beginning_total": 1_000,
            "beginning_principal": 1_000,
            "principal_collections": collections,
        }

    later = RatioSchedule.model_validate(
        {
            "effective_from": date(2025, 3, 31),
            "definitions": {
                "payment_rate": {
                    "numerator": ["principal_collections"],
                    "denominator": "beginning_principal",
                    "annualize": "x12",
                }
            },
        }
    )
    ends = [date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31)]
    table = performance_table(
        list(zip(ends, [measures(100), measures(200), measures(300)], strict=True)),
        [DEFAULT_RATIO_SCHEDULE, later],
    )
    assert table["payment_rate"].to_list() == ["0.1", "0.2", "3.6"]
    assert table["payment_rate_3m_avg"].to_list() == [None, None, format(Decimal("3.9") / 3, "f")]
    assert table["purchase_rate"].to_list() == ["0", "0", None]  # not defined from March
    assert table["days_in_period"].to_list() == [31, 28, 31]
    assert set(f"{n}_3m_avg" for n in HEADLINE_RATIOS) <= set(table.columns)


def test_history_out_of_order_is_refused():
    m = {n: 0 for n in POOL_MEASURE_NAMES}
    with pytest.raises(ValueError, match="oldest first"):
        performance_table([(date(2025, 2, 28), m), (date(2025, 1, 31), m)])
