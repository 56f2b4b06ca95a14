"""Monotonicity of projections (Hypothesis), on the hand-built warehouse and
trust: more losses never make a trigger breach later, and a higher payment
rate never slows note paydown under amortization.

Rates are drawn on the grid an analyst writes scenarios in (whole basis
points, multipliers in steps of 5%), inside the plausible ranges.

The paydown property holds while the pool covers the notes. A trust whose
notes exceed its pool takes 100% of the collections (the investor percentage
is capped), so paying faster shrinks the pool that pays it while purchases
refill it more slowly, and the notes can end a month a few cents higher:
such paths (found by Hypothesis) are outside the property's domain.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from funding.projections.engine import ProjectionStart, project
from funding.projections.scenarios import ScenarioConfig, resolve_scenario
from funding.structure.waterfall import initial_state
from funding.vehicle_config import VehicleConfig
from tests.funding.projections.builders import published_row, trust, warehouse, warehouse_start

HORIZON = 12
FLAT = {"SOFR30A": Decimal(430)}
WAREHOUSE = warehouse()
TRUST = trust()


def bps(low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(lambda b: Decimal(b) / 10_000)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, object]:
    """Constant rates, and charge-offs that rise month by month, so that a
    breach can come in any month of the horizon."""
    first, rise = draw(bps(0, 3_000)), draw(bps(0, 500))
    return {
        "payment_rate": draw(bps(100, 6_000)),
        "purchase_rate": draw(bps(0, 6_000)),
        "portfolio_yield": draw(bps(500, 3_500)),
        "gross_chargeoff_rate": tuple(min(Decimal(1), first + rise * n) for n in range(HORIZON)),
        "recovery_rate": draw(bps(0, 3_000)),
        "delinquency_60_plus": draw(bps(0, 1_000)),
    }


def trust_start(config: VehicleConfig, pool: int) -> ProjectionStart:
    """The trust right after closing: 70,000,000 of notes against `pool`."""
    period = warehouse_start(WAREHOUSE).period
    state = initial_state(config, period.end)
    rows = (published_row(pool, pool * 21 // 20, pool // 50, "0.02"),)
    return ProjectionStart(period, state, rows)


def run(config: VehicleConfig, start: ProjectionStart, rates: dict, **options):
    scenario = resolve_scenario(
        ScenarioConfig(name="p", **rates), HORIZON, {"net_eligible_share": Fraction(9, 10)}, FLAT
    )
    return project(config, start, scenario, **options)


def first_breaches(projection) -> dict[str, int | None]:
    firsts: dict[str, int | None] = {}
    for number, month in enumerate(projection.months, start=1):
        for test in month.result.trigger_tests:
            firsts.setdefault(test.name, None)
            if test.breached and firsts[test.name] is None:
                firsts[test.name] = number
    return firsts


def later(a: int | None, b: int | None) -> bool:
    """Is breach month `a` later than `b` (None: no breach within the horizon)?"""
    return b is not None and (a is None or a > b)


VEHICLES = st.sampled_from(["warehouse", "trust"])


def start_of(kind: str, pool: int) -> tuple[VehicleConfig, ProjectionStart]:
    if kind == "warehouse":
        return WAREHOUSE, warehouse_start(WAREHOUSE)
    return TRUST, trust_start(TRUST, pool)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=VEHICLES,
    rates=scenarios(),
    pool=st.integers(50_000_000, 400_000_000),
    steps=st.tuples(st.integers(10, 60), st.integers(1, 40)),
)
def test_more_losses_never_make_a_breach_later(kind, rates, pool, steps):
    config, start = start_of(kind, pool)
    low, extra = steps
    milder = {**rates, "multipliers": {"gross_chargeoff_rate": Decimal(low) / 20}}
    harsher = {**rates, "multipliers": {"gross_chargeoff_rate": Decimal(low + extra) / 20}}
    mild, harsh = (
        first_breaches(run(config, start, milder)),
        first_breaches(run(config, start, harsher)),
    )
    for name in mild:
        assert not later(harsh[name], mild[name]), (name, mild, harsh)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=VEHICLES,
    rates=scenarios(),
    pool=st.integers(50_000_000, 400_000_000),
    faster=st.integers(1, 3_000),
)
def test_a_higher_payment_rate_never_slows_note_paydown_under_amortization(
    kind, rates, pool, faster
):
    config, start = start_of(kind, pool)
    quicker = {
        **rates,
        "payment_rate": min(Decimal(1), rates["payment_rate"] + Decimal(faster) / 10_000),
    }
    slow = run(config, start, rates, amortize_from_start=True)
    fast = run(config, start, quicker, amortize_from_start=True)
    if kind == "trust":  # the pool covers the notes (see the module docstring)
        assume(all(m.result.investor_percentage < 1 for p in (slow, fast) for m in p.months))
    slow_notes = [m.result.state.invested_cents for m in slow.months]
    fast_notes = [m.result.state.invested_cents for m in fast.months]
    assert all(f <= s for f, s in zip(fast_notes, slow_notes, strict=True)), (
        slow_notes,
        fast_notes,
    )
