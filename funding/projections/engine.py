"""Forward projection of one vehicle from a published period (issue 15).

    project(config, start, scenario) -> Projection

starts from period P's published closing state and pool measures and rolls
the pool forward month by month. Each month it

1. derives the month's pool measures from the scenario's rates, in integer
   cents, one rounding (the vehicle's mode) per amount (`month_measures`), or
   takes them as given (a measures scenario, e.g. the back-test);
2. evaluates the vehicle's own ratio definitions on them
   (`compute_ratios`, with the same three-period history the pool
   performance stage uses), so a trigger reads its ratio exactly as the
   actuals do;
3. computes a warehouse's borrowing base with the borrowing base
   arithmetic of the actuals (`borrowing_base_amount`) on the projected
   net eligible balance;
4. builds the period's inputs with `period_inputs` and runs `run_waterfall`,
   the engine of the actuals, from the previous month's closing state.

There is no second waterfall: everything the vehicle owes, pays, traps or
amortizes comes out of `run_waterfall`.

Pool model (an analyst's reading where the issue leaves room): the pool is
closed (no designations in or out); principal moves by purchases less
principal collections less charge-offs, collections capped at what is left
after charge-offs. Interest and fee receivables keep period P's proportion
to principal (`ending_total`); the 60+ delinquent amount is spread over the
60-89 ... 150-179 buckets in P's proportions. Measures the model does not
derive (e.g. interest vs fee collections) are absent, and a ratio that needs
one is not projected (null).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from funding.money import to_cents
from funding.performance.pool import (
    COUNT_MEASURES,
    definitions_with_headline_averages,
    measures_from_row,
)
from funding.performance.ratios import compute_ratios, definitions_computable_from
from funding.period import Period
from funding.projections.scenarios import (
    BORROWING_BASE,
    SIXTY_PLUS_BUCKETS,
    MonthAssumptions,
    ResolvedScenario,
)
from funding.structure.borrowing_base import borrowing_base_amount
from funding.structure.rates import FixingTable
from funding.structure.triggers import EARLY_AMORTIZATION, REVOLVING
from funding.structure.waterfall import VehicleState, WaterfallResult, run_waterfall
from funding.structure.waterfall.accruals import allocate_pro_rata
from funding.structure.waterfall.inputs import period_inputs

if TYPE_CHECKING:
    from funding.vehicle_config import VehicleConfig

# The pool performance stage evaluates ratios over the period and the two
# before it (3-month averages); a projected month sees the same history.
RATIO_HISTORY_PERIODS = 3


class ProjectionError(ValueError):
    """A projection that cannot run from what was published; the message says why."""


@dataclass(frozen=True)
class ProjectionStart:
    """Period P's published position.

    `performance`: the published `pool_performance` rows of the periods up to
    P the vehicle reported, oldest first (the last is P's; empty when P is
    the period before the vehicle's first). `state`: P's closing state.
    `net_eligible_share`: a warehouse's net eligible balance over pool
    principal on P's certificate. `trigger_values`: P's published trigger
    values (the starting point of the headroom table).
    """

    period: Period
    state: VehicleState
    performance: tuple[Mapping[str, Any], ...]
    net_eligible_share: Fraction | None = None
    trigger_values: Mapping[str, Fraction | None] | None = None


@dataclass(frozen=True)
class ProjectedMonth:
    period: Period
    assumptions: MonthAssumptions
    measures: dict[str, int | Decimal]
    ratios: dict[str, Decimal | None]
    borrowing_base_cents: int | None
    result: WaterfallResult

    @property
    def advances_outstanding_cents(self) -> int | None:
        """Advances before the month's waterfall, as the certificate shows them."""
        return self.result.opening.advances_cents

    @property
    def availability_cents(self) -> int | None:
        """The certificate's availability; nothing once the facility stops revolving."""
        if self.borrowing_base_cents is None or self.advances_outstanding_cents is None:
            return None
        if self.result.waterfall_status != REVOLVING:
            return 0
        return max(0, self.borrowing_base_cents - self.advances_outstanding_cents)

    @property
    def deficiency_cents(self) -> int | None:
        if self.borrowing_base_cents is None or self.advances_outstanding_cents is None:
            return None
        return max(0, self.advances_outstanding_cents - self.borrowing_base_cents)


@dataclass(frozen=True)
class Projection:
    scenario: ResolvedScenario
    start: ProjectionStart
    months: tuple[ProjectedMonth, ...]


# ---------------------------------------------------------------------------
# the pool, month by month


@dataclass(frozen=True)
class PoolShape:
    """What the pool model holds at period P's proportions."""

    total_per_principal: Fraction
    sixty_plus_mix: tuple[int, ...]

    @classmethod
    def of(cls, measures: Mapping[str, int | Decimal]) -> PoolShape:
        principal = int(measures.get("ending_principal", 0))
        total = int(measures.get("ending_total", principal))
        mix = tuple(int(measures.get(f"delinquent_{b}", 0)) for b in SIXTY_PLUS_BUCKETS)
        return cls(
            total_per_principal=Fraction(total, principal) if principal > 0 else Fraction(1),
            sixty_plus_mix=mix if sum(mix) > 0 else (1, 0, 0, 0),
        )


def month_measures(
    rates: Mapping[str, Fraction],
    beginning_principal: int,
    beginning_total: int,
    shape: PoolShape,
    rounding: str = "half_up",
) -> dict[str, int | Decimal]:
    """One month's pool measures from the scenario's rates (module docstring)."""
    begin = beginning_principal
    chargeoffs = to_cents(rates["gross_chargeoff_rate"] * begin / 12, rounding)
    collections = min(to_cents(rates["payment_rate"] * begin, rounding), begin - chargeoffs)
    purchases = to_cents(rates["purchase_rate"] * begin, rounding)
    recoveries = to_cents(rates["recovery_rate"] * chargeoffs, rounding)
    finance_charges = to_cents(rates["portfolio_yield"] * begin / 12, rounding)
    ending = begin + purchases - collections - chargeoffs
    ending_total = to_cents(ending * shape.total_per_principal, rounding)
    sixty_plus = to_cents(rates["delinquency_60_plus"] * ending_total, rounding)
    buckets = allocate_pro_rata(sixty_plus, list(shape.sixty_plus_mix))
    return {
        "purchases": purchases,
        "principal_collections": collections,
        "finance_charge_collections": finance_charges,
        "chargeoff_principal": chargeoffs,
        "recoveries": recoveries,
        "net_chargeoffs": chargeoffs - recoveries,
        "beginning_principal": begin,
        "beginning_total": beginning_total,
        "ending_principal": ending,
        "ending_total": ending_total,
        "average_principal": Decimal(begin + ending) / 2,
        **{f"delinquent_{b}": cents for b, cents in zip(SIXTY_PLUS_BUCKETS, buckets, strict=True)},
    }


def given_measures(
    given: Mapping[str, int], beginning_principal: int, beginning_total: int, shape: PoolShape
) -> dict[str, int | Decimal]:
    """A measures month: the given cents, with what follows from them filled in."""
    measures: dict[str, int | Decimal] = {k: v for k, v in given.items() if k != BORROWING_BASE}
    measures.setdefault("beginning_principal", beginning_principal)
    measures.setdefault("beginning_total", beginning_total)
    ending = int(measures["ending_principal"])
    measures.setdefault("ending_total", to_cents(ending * shape.total_per_principal))
    measures.setdefault(
        "net_chargeoffs", int(measures["chargeoff_principal"]) - int(measures["recoveries"])
    )
    measures.setdefault(
        "average_principal", Decimal(int(measures["beginning_principal"]) + ending) / 2
    )
    return measures


# ---------------------------------------------------------------------------
# ratios and the performance row the waterfall inputs read


def _ratio_values(row: Mapping[str, Any]) -> dict[str, Decimal | None]:
    """The ratio columns of a published row (exact decimal text) as Decimals."""
    return {
        k: (None if v is None else Decimal(v))
        for k, v in row.items()
        if isinstance(v, str) or (v is None and not k.endswith("_cents"))
    }


def projected_row(
    config: VehicleConfig,
    period: Period,
    measures: Mapping[str, int | Decimal],
    history: Sequence[Mapping[str, Decimal | None]],
) -> tuple[dict[str, Any], dict[str, Decimal | None]]:
    """A `pool_performance`-shaped row of a projected month, and its ratios.

    The vehicle's definitions in force for the period, restricted to those
    the measures support; a trigger ratio the projection cannot derive is
    present with no value (it then cannot breach, and is reported as not
    projected).
    """
    definitions = definitions_with_headline_averages(config.ratios, period.end)
    computable = definitions_computable_from(definitions, measures)
    ratios = compute_ratios(
        measures, period.days, computable, history=history[-(RATIO_HISTORY_PERIODS - 1) :]
    )
    row: dict[str, Any] = {
        (name if name in COUNT_MEASURES else f"{name}_cents"): value
        for name, value in measures.items()
    }
    row.update({name: None if v is None else format(v, "f") for name, v in ratios.items()})
    for trigger in config.triggers:
        row.setdefault(trigger.ratio, None)
    return row, ratios


# ---------------------------------------------------------------------------
# the projection


def project(
    config: VehicleConfig,
    start: ProjectionStart,
    scenario: ResolvedScenario,
    *,
    amortize_from_start: bool = False,
) -> Projection:
    """Run the scenario forward from P's published position (module docstring).

    `amortize_from_start` starts the vehicle in early amortization, to see
    how fast the notes would pay off if amortization began now.
    """
    if not config.notes:
        raise ProjectionError(f"{config.id}: a vehicle without notes has no waterfall to project")
    warehouse = config.facility is not None
    if warehouse and config.eligibility is None:
        raise ProjectionError(f"{config.id}: a warehouse needs its eligibility block")
    history = [_ratio_values(row) for row in start.performance]
    last = measures_from_row(start.performance[-1]) if start.performance else {}
    shape = PoolShape.of(last)
    principal = int(last.get("ending_principal", 0))
    total = int(last.get("ending_total", principal))
    state = start.state
    if amortize_from_start:
        state = replace(state, status=EARLY_AMORTIZATION)
    months = []
    period = start.period
    for assumptions in scenario.months:
        period = period.next()
        if assumptions.measures is None:
            measures = month_measures(assumptions.rates, principal, total, shape, config.rounding)
        else:
            measures = given_measures(assumptions.measures, principal, total, shape)
        row, ratios = projected_row(config, period, measures, history)
        base = _borrowing_base(config, assumptions, measures, start) if warehouse else None
        inputs = period_inputs(
            config,
            period,
            row,
            _fixing_table(assumptions.fixings, period),
            base,
            config.facility.draw_policy if warehouse else "max_available",
        )
        result = run_waterfall(config, state, inputs)
        months.append(ProjectedMonth(period, assumptions, dict(measures), ratios, base, result))
        history.append(ratios)
        state = result.state
        principal = int(measures["ending_principal"])
        total = int(measures["ending_total"])
    return Projection(scenario, start, tuple(months))


def _borrowing_base(
    config: VehicleConfig,
    assumptions: MonthAssumptions,
    measures: Mapping[str, int | Decimal],
    start: ProjectionStart,
) -> int:
    """The given borrowing base, else the actuals' arithmetic on the projected
    net eligible balance (pool principal x net eligible share, rounded once)."""
    if assumptions.measures is not None and BORROWING_BASE in assumptions.measures:
        return int(assumptions.measures[BORROWING_BASE])
    share = assumptions.rates.get("net_eligible_share", start.net_eligible_share)
    if share is None:
        raise ProjectionError(
            f"{config.id} {start.period}: no net eligible share to project the borrowing base"
        )
    net_eligible = to_cents(share * int(measures["ending_principal"]), config.rounding)
    _, base = borrowing_base_amount(
        net_eligible, config.eligibility.advance_rate_pct, config.facility.commitment_cents
    )
    return base


def _fixing_table(fixings: Mapping[str, Decimal], period: Period) -> FixingTable:
    """The month's fixings as a fixings table, dated on its first day."""
    return FixingTable(series={index: ((period.start, rate),) for index, rate in fixings.items()})
