"""The demo looks like a real book: at the demo's seed, every reported
period's payment rate, yield, net charge-off rate and 60+ day delinquency
of both vehicles and of the portfolio is within the ranges real card trusts
report, at 3,000 accounts and at the default size; and any demo of at least
two months publishes both vehicles (they close at the end of the first).

At 3,000 accounts each vehicle holds about a thousand, so a month's
charge-offs are a handful of accounts: with another seed a month's
annualised net charge-off rate can fall outside 2-10% (the ratio is right,
the pool is small). The demo's seed is one whose every month is inside."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dagster_project.settings import PACKAGE_DIR
from funding.demo import SeedConfig, seed_ledger
from funding.demo.realism import REALISTIC_RANGES, headline_ratios, outside_ranges
from funding.period import Period
from funding.vehicle_config import load_vehicles

VEHICLES = load_vehicles(PACKAGE_DIR / "vehicles")
DEMO_SEED = SeedConfig().seed  # the Makefile's SEED too


def test_the_makefile_runs_the_demo_at_this_seed():
    makefile = (PACKAGE_DIR.parent / "Makefile").read_text()
    assert f"SEED ?= {DEMO_SEED}\n" in makefile


def test_the_ranges_are_the_issues():
    assert {
        "payment_rate": (Decimal("0.15"), Decimal("0.45")),
        "portfolio_yield": (Decimal("0.15"), Decimal("0.30")),
        "net_chargeoff_rate": (Decimal("0.02"), Decimal("0.10")),
        "delinquency_60_plus": (Decimal("0.01"), Decimal("0.05")),
    } == REALISTIC_RANGES


@pytest.mark.parametrize("accounts", [3_000, SeedConfig().accounts], ids=["3000", "default"])
def test_headline_ratios_of_every_period_are_those_of_a_real_book(tmp_path, accounts):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    seed_ledger(url, SeedConfig(accounts=accounts, months=15, seed=DEMO_SEED))
    ratios = headline_ratios(url, VEHICLES)
    # the portfolio's first close holds the whole history: no period before it, no ratio
    ratios = ratios.filter(
        ~((ratios["vehicle"] == "portfolio") & (ratios["period_end"] == Period(2025, 1).end))
    )
    assert sorted(set(ratios["vehicle"])) == ["portfolio", "trust1", "wh1"]
    assert ratios.group_by("vehicle").len().sort("vehicle")["len"].to_list() == [14, 14, 14]
    assert outside_ranges(ratios) == []


def test_both_vehicles_close_at_the_end_of_the_first_month_and_report_from_the_second():
    first = SeedConfig().first_period
    for config in VEHICLES.values():
        assert config.first_period == first.next()
    # a two-month demo already has a reportable period for each
    for config in VEHICLES.values():
        assert config.reports(first.next()) and not config.reports(first)


def test_the_stress_scenario_breaches_the_trusts_excess_spread_trigger(tmp_path):
    """`make demo SCENARIO=stress`: the trust's 3-month excess spread turns
    negative and it amortizes early; the base scenario's trust revolves."""
    statuses = {}
    for scenario in ("base", "stress"):
        url = f"sqlite:///{tmp_path / f'{scenario}.sqlite'}"
        seed_ledger(url, SeedConfig(accounts=3_000, months=8, scenario=scenario))
        statuses[scenario] = trust_statuses(url)
    assert {status for status, _ in statuses["base"].values()} == {"revolving"}
    breached = [
        p for p, (status, _) in statuses["stress"].items() if status == "early_amortization"
    ]
    assert breached, statuses["stress"]
    first = min(breached)
    assert "excess_spread_3m" in statuses["stress"][first][1]


def trust_statuses(url: str) -> dict:
    """Each trust period's status and breached triggers, run as the
    waterfall stage runs them (pool performance, fixings, previous state)."""
    from funding.ledger.database import read_ledger
    from funding.ledger.extract import extract_periods
    from funding.performance.pool import performance_row, pool_measures
    from funding.structure.rates import load_fixings
    from funding.structure.waterfall import run_waterfall
    from funding.structure.waterfall.inputs import opening_state_for, period_inputs

    config = VEHICLES["trust1"]
    fixings = load_fixings(PACKAGE_DIR / "data" / "sofr30a_fixings.csv")
    history, state, out = [], None, {}
    with read_ledger(url) as session:
        for close, snapshot in extract_periods(session):
            period = close.period
            if not config.reports(period):
                continue
            history.append((period.end, pool_measures(snapshot, "trust1")))
            performance = performance_row(history[-3:], config.ratios).to_dicts()[0]
            previous = opening_state_for(
                config, "trust1", period, config.first_period, state,
                pool_at_closing_cents=int(performance["beginning_principal_cents"]),
            )  # fmt: skip
            result = run_waterfall(
                config, previous, period_inputs(config, period, performance, fixings, None)
            )
            state = result.state
            out[period] = (state.status, [t.name for t in result.trigger_tests if t.breached])
    return out
