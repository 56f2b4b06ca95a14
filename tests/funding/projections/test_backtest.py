"""The back-test on a hand-built two-class trust and a warehouse: their
actual waterfalls are run as the pipeline runs them (pool performance rows
with `performance_row`, inputs with `period_inputs`, `run_waterfall`); a
projection from P-3 with the realised measures must reproduce P-2 ... P to
the cent, and any tampering with what was published is named."""

from __future__ import annotations

import polars as pl
import pytest

from funding.performance.pool import performance_row
from funding.period import Period
from funding.projections.backtest import PublishedPeriod, run_backtest
from funding.projections.engine import ProjectionStart
from funding.structure.rates import parse_fixings
from funding.structure.waterfall import VehicleState, run_waterfall
from funding.structure.waterfall.inputs import opening_state_for, period_inputs, trigger_tests_frame
from tests.funding.projections.builders import trust, warehouse

FIXINGS = parse_fixings(
    "index,fixing_date,rate_bps\n"
    + "".join(f"SOFR30A,2025-{m:02d}-01,{430 - 10 * m}\n" for m in range(1, 8))
)
PERIODS = [Period(2025, m) for m in range(1, 7)]


def pool_month(n: int, sixty_plus: int = 0) -> dict[str, int]:
    """A pool of 100,000,000 that grows 2,000,000 a month, with uneven flows."""
    begin = 100_000_000 + 2_000_000 * (n - 1)
    collections = 18_000_000 + 123_457 * n
    chargeoffs = 400_000 + 33_333 * n
    end = begin + 2_000_000
    return {
        "beginning_principal": begin,
        "ending_principal": end,
        "beginning_total": begin + 4_000_000,
        "ending_total": end + 4_000_000,
        "principal_collections": collections,
        "purchases": end - begin + collections + chargeoffs,
        "finance_charge_collections": 1_900_000 + 7_777 * n,
        "interest_collections": 1_600_000 + 7_777 * n,
        "fee_collections": 300_000,
        "chargeoff_principal": chargeoffs,
        "recoveries": 20_000 + 1_111 * n,
        "net_chargeoffs": chargeoffs - 20_000 - 1_111 * n,
        "delinquent_60_89": sixty_plus,
        "delinquent_90_119": 0,
        "delinquent_120_149": 0,
        "delinquent_150_179": 0,
    }


def actuals(config, months: list[dict[str, int]], base_of=None):
    """Run the vehicle period by period as the pipeline does; the published periods."""
    published, history, state = [], [], None
    for period, measures in zip(PERIODS, months, strict=True):
        history.append((period.end, measures))
        row = performance_row(history[-3:], config.ratios).to_dicts()[0]
        base = None if base_of is None else base_of(measures)
        previous = opening_state_for(config, config.id, period, PERIODS[0], state)
        inputs = period_inputs(config, period, row, FIXINGS, base)
        result = run_waterfall(config, previous, inputs)
        statement = pl.DataFrame([r.to_dict() for r in result.statement])
        published.append(
            PublishedPeriod(
                period,
                row,
                base,
                statement,
                trigger_tests_frame(result.trigger_tests),
                result.state,
            )
        )
        state = result.state
    return published


def start_at(published: list[PublishedPeriod], index: int) -> ProjectionStart:
    rows = tuple(p.performance for p in published[max(0, index - 2) : index + 1])
    return ProjectionStart(published[index].period, published[index].state, rows)


def trust_months() -> list[dict[str, int]]:
    # 60+ at 6,000,000 in April and May, 1,000,000 otherwise, of total receivables
    # 104,000,000 + 2,000,000 n: 0.93% (Feb), 0.91%, 5.36%, 5.26%, 0.86% (Jun), so the
    # 3-month average is 2.40% in April, 3.84% in May, 3.83% in June: trapped above 3%
    return [pool_month(n, sixty_plus=6_000_000 if n in (4, 5) else 1_000_000) for n in range(1, 7)]


def test_the_back_test_of_a_two_class_trust_equals_its_published_waterfalls():
    config = trust()
    published = actuals(config, trust_months())
    # the periods replayed exercise the cash trap and the reserve
    assert [p.state.cash_trap for p in published[3:]] == [False, True, True]
    projection, differences = run_backtest(config, start_at(published, 2), published[3:], FIXINGS)
    assert differences == []
    assert [m.period for m in projection.months] == PERIODS[3:]
    for month, actual in zip(projection.months, published[3:], strict=True):
        assert [r.to_dict() for r in month.result.statement] == actual.statement.to_dicts()
        assert month.result.state.to_json() == actual.state.to_json()


def test_the_back_test_of_a_warehouse_uses_the_published_borrowing_base():
    config = warehouse()
    bases = iter([70_000_000, 80_000_000, 74_000_000, 71_000_000, 90_000_000, 85_000_000])
    published = actuals(config, [pool_month(n) for n in range(1, 7)], lambda _: next(bases))
    # the base falls in March and April: deficiencies cured from collections
    assert any(
        r["action"] == "borrowing_base_cure" and r["paid_cents"] > 0
        for p in published[2:4]
        for r in p.statement.to_dicts()
    )
    _, differences = run_backtest(config, start_at(published, 2), published[3:], FIXINGS)
    assert differences == []


def test_a_back_test_from_before_the_first_period_starts_from_the_initial_state():
    config = trust()
    published = actuals(config, trust_months())
    before = PERIODS[0].previous()
    from funding.structure.waterfall import initial_state

    start = ProjectionStart(before, initial_state(config, before.end), ())
    _, differences = run_backtest(config, start, published[:3], FIXINGS)
    assert differences == []


def tampered(period: PublishedPeriod, **changes) -> PublishedPeriod:
    return PublishedPeriod(**{**period.__dict__, **changes})


def test_a_published_waterfall_the_projection_does_not_reproduce_is_named():
    config = trust()
    published = actuals(config, trust_months())
    may = published[4]
    statement = may.statement.with_columns(
        pl.when(pl.col("action") == "interest")
        .then(pl.col("paid_cents") + 1)
        .otherwise(pl.col("paid_cents"))
        .alias("paid_cents")
    )
    state = VehicleState.from_dict({**may.state.to_dict(), "reserve_cents": 1})
    bad = [published[3], tampered(may, statement=statement, state=state), published[5]]
    _, differences = run_backtest(config, start_at(published, 2), bad, FIXINGS)
    named = [(d.period.key, d.item) for d in differences]
    assert ("2025-05", "statement row 4") in named and ("2025-05", "state reserve_cents") in named
    assert all(period == "2025-05" for period, _ in named)  # June starts from the real state
    reserve = next(d for d in differences if d.item == "state reserve_cents")
    assert reserve.published == 1 and reserve.projected == may.state.reserve_cents


def test_the_back_test_needs_the_periods_right_after_its_start():
    config = trust()
    published = actuals(config, trust_months())
    with pytest.raises(ValueError, match="periods right after 2025-02"):
        run_backtest(config, start_at(published, 1), published[3:], FIXINGS)
