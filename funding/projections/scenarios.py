"""Projection scenarios: the `projections` block of a vehicle file, and each
scenario resolved into one set of assumptions per projected month.

```yaml
projections:
  horizon_months: 24                      # 1..120, default 24
  scenarios:                              # default: base and stress (below)
    - {name: base}                        # every rate: the trailing 3-month average
    - name: stress
      multipliers: {gross_chargeoff_rate: 1.5, payment_rate: 0.7}
    - name: rates_up
      payment_rate: 0.18                  # a constant ...
      gross_chargeoff_rate: [0.05, 0.06, 0.07]   # ... or a monthly path; its last value holds
      index_fixings: {SOFR30A: [450, 475, 500]}  # bps; default: flat from the last fixing
```

The rates a scenario sets, each a constant or a monthly path (fractions,
0.18 is 18%):

| rate | meaning | plausible range |
|---|---|---|
| `payment_rate` | principal collections / beginning principal, monthly | 0 - 1 |
| `purchase_rate` | purchases / beginning principal, monthly | 0 - 1.5 |
| `portfolio_yield` | finance charge collections x 12 / beginning principal | 0 - 1 |
| `gross_chargeoff_rate` | charged-off principal x 12 / beginning principal | 0 - 1 |
| `recovery_rate` | recoveries / the month's charged-off principal | 0 - 1 |
| `delinquency_60_plus` | 60-179 days past due / ending total receivables | 0 - 1 |
| `net_eligible_share` | warehouses: net eligible balance / pool principal | 0 - 1 |

A rate the scenario leaves out is the trailing 3-month average of the
published pool performance (`base_rates`; for `net_eligible_share`, the
period's borrowing base certificate); `multipliers` (0 < m <= 10) scale a
rate, given or not. `index_fixings` gives a bps path per index (-500 to
2,500 bps); an index left out stays flat at the period's fixing. A path
longer than the horizon is an error; a shorter one holds its last value.

Instead of rates a scenario may give `measures`: pool measures in cents,
one mapping per month (metrics.md names, plus `borrowing_base` for a
warehouse), projected for exactly as many months. The back-test uses them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from funding.exact import ExactDecimal
from funding.performance.ratios import POOL_MEASURE_NAMES

DEFAULT_HORIZON_MONTHS = 24
MAX_HORIZON_MONTHS = 120
BASE_WINDOW = 3  # trailing months averaged for the base scenario

# rate -> (lowest, highest) plausible value, as fractions
RATE_RANGES: dict[str, tuple[Decimal, Decimal]] = {
    "payment_rate": (Decimal(0), Decimal(1)),
    "purchase_rate": (Decimal(0), Decimal("1.5")),
    "portfolio_yield": (Decimal(0), Decimal(1)),
    "gross_chargeoff_rate": (Decimal(0), Decimal(1)),
    "recovery_rate": (Decimal(0), Decimal(1)),
    "delinquency_60_plus": (Decimal(0), Decimal(1)),
    "net_eligible_share": (Decimal(0), Decimal(1)),
}
RATES: tuple[str, ...] = tuple(RATE_RANGES)
POOL_RATES: tuple[str, ...] = RATES[:-1]  # the ones the pool performance gives a base for
MAX_MULTIPLIER = Decimal(10)
FIXING_RANGE_BPS = (Decimal(-500), Decimal(2500))
BORROWING_BASE = "borrowing_base"
MEASURE_NAMES: frozenset[str] = frozenset((*POOL_MEASURE_NAMES, BORROWING_BASE))
# What a month of measures must give: the waterfall's inputs and the pool carried forward.
REQUIRED_MEASURES: tuple[str, ...] = (
    "principal_collections",
    "finance_charge_collections",
    "recoveries",
    "chargeoff_principal",
    "ending_principal",
)
ScenarioName = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$")]
RatePath = tuple[ExactDecimal, ...] | ExactDecimal


class ProjectionConfigError(ValueError):
    """A projections block or scenario that cannot be used."""


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_path(value: Decimal | tuple[Decimal, ...]) -> tuple[Decimal, ...]:
    return value if isinstance(value, tuple) else (value,)


class ScenarioConfig(_Config):
    """One scenario as written in the vehicle file (see the module docstring)."""

    name: ScenarioName
    payment_rate: RatePath | None = None
    purchase_rate: RatePath | None = None
    portfolio_yield: RatePath | None = None
    gross_chargeoff_rate: RatePath | None = None
    recovery_rate: RatePath | None = None
    delinquency_60_plus: RatePath | None = None
    net_eligible_share: RatePath | None = None
    multipliers: dict[str, ExactDecimal] = Field(default_factory=dict)
    index_fixings: dict[str, RatePath] = Field(default_factory=dict)
    measures: tuple[dict[str, int], ...] | None = None

    @field_validator(*RATES)
    @classmethod
    def _rates_in_range(cls, value: Any, info: Any) -> Any:
        if value is None:
            return value
        low, high = RATE_RANGES[info.field_name]
        path = _as_path(value)
        if not path:
            raise ValueError("a path needs at least one month")
        for month, rate in enumerate(path, start=1):
            if not low <= rate <= high:
                where = f"month {month}: " if isinstance(value, tuple) else ""
                raise ValueError(
                    f"{where}{rate} is outside the plausible range {low} to {high} "
                    "(rates are fractions: 0.18 is 18%)"
                )
        return value

    @field_validator("multipliers")
    @classmethod
    def _multipliers(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for rate, factor in value.items():
            if rate not in RATES:
                raise ValueError(f"{rate!r} is not a scenario rate; one of {', '.join(RATES)}")
            if not 0 < factor <= MAX_MULTIPLIER:
                raise ValueError(f"{rate}: multiplier {factor} must be above 0 and at most 10")
        return value

    @field_validator("index_fixings")
    @classmethod
    def _fixings(cls, value: dict[str, Any]) -> dict[str, Any]:
        low, high = FIXING_RANGE_BPS
        for index, path in value.items():
            for month, bps in enumerate(_as_path(path), start=1):
                if not low <= bps <= high:
                    raise ValueError(
                        f"{index} month {month}: {bps} bps is outside {low} to {high} bps"
                    )
        return value

    @field_validator("measures")
    @classmethod
    def _measures(cls, value: tuple[dict[str, int], ...] | None) -> Any:
        if value is None:
            return value
        if not value:
            raise ValueError("measures needs at least one month")
        for month, measures in enumerate(value, start=1):
            unknown = sorted(set(measures) - MEASURE_NAMES)
            if unknown:
                raise ValueError(f"month {month}: unknown measures {unknown}")
            missing = [m for m in REQUIRED_MEASURES if m not in measures]
            if missing:
                raise ValueError(f"month {month}: missing measures {missing}")
            for name, cents in measures.items():
                if isinstance(cents, bool) or not isinstance(cents, int) or cents < 0:
                    raise ValueError(
                        f"month {month}: {name} must be non-negative integer cents, got {cents!r}"
                    )
        return value

    @model_validator(mode="after")
    def _rates_or_measures(self) -> ScenarioConfig:
        if self.measures is not None:
            given = [r for r in RATES if getattr(self, r) is not None]
            if given or self.multipliers:
                raise ValueError(
                    f"scenario {self.name}: measures replace rates; "
                    f"drop {', '.join(given) or 'multipliers'}"
                )
        return self

    def longest_path(self) -> int:
        paths = [getattr(self, r) for r in RATES] + list(self.index_fixings.values())
        return max((len(p) for p in paths if isinstance(p, tuple)), default=0)


DEFAULT_SCENARIOS: tuple[ScenarioConfig, ...] = (
    ScenarioConfig(name="base"),
    ScenarioConfig(
        name="stress",
        multipliers={"gross_chargeoff_rate": Decimal("1.5"), "payment_rate": Decimal("0.7")},
    ),
)


class ProjectionsConfig(_Config):
    """A vehicle's `projections` block."""

    horizon_months: Annotated[int, Field(strict=True, ge=1, le=MAX_HORIZON_MONTHS)] = (
        DEFAULT_HORIZON_MONTHS
    )
    scenarios: tuple[ScenarioConfig, ...] = DEFAULT_SCENARIOS

    @model_validator(mode="after")
    def _scenarios_fit(self) -> ProjectionsConfig:
        if not self.scenarios:
            raise ValueError("scenarios: list at least one (or leave it out for base and stress)")
        names = [s.name for s in self.scenarios]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"scenario defined more than once: {', '.join(repeated)}")
        for scenario in self.scenarios:
            length = max(scenario.longest_path(), len(scenario.measures or ()))
            if length > self.horizon_months:
                raise ValueError(
                    f"scenario {scenario.name}: a path of {length} months is longer than "
                    f"horizon_months ({self.horizon_months})"
                )
        return self


# ---------------------------------------------------------------------------
# resolution


@dataclass(frozen=True)
class MonthAssumptions:
    """What one projected month assumes: rates (exact fractions), index fixings
    in bps, or (instead of rates) the month's pool measures in cents."""

    rates: Mapping[str, Fraction] = field(default_factory=dict)
    fixings: Mapping[str, Decimal] = field(default_factory=dict)
    measures: Mapping[str, int] | None = None


@dataclass(frozen=True)
class ResolvedScenario:
    name: str
    months: tuple[MonthAssumptions, ...]

    def parameters(self) -> dict[str, Any]:
        """Every assumption as exact text, month by month (what the hash covers)."""
        return {
            "name": self.name,
            "months": [
                {
                    "rates": {k: str(v) for k, v in m.rates.items()},
                    "fixings": {k: str(v) for k, v in m.fixings.items()},
                    "measures": None if m.measures is None else dict(m.measures),
                }
                for m in self.months
            ],
        }

    @property
    def parameters_sha256(self) -> str:
        text = json.dumps(self.parameters(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _at(value: Decimal | tuple[Decimal, ...], month: int) -> Decimal:
    """A constant, or a path's value in `month` (1-based; the last value holds)."""
    path = _as_path(value)
    return path[min(month, len(path)) - 1]


def _monthly(value: Decimal | tuple[Decimal, ...] | None, month: int) -> Decimal | None:
    return None if value is None else _at(value, month)


def resolve_scenario(
    scenario: ScenarioConfig,
    horizon_months: int,
    base: Mapping[str, Fraction],
    fixings: Mapping[str, Decimal],
) -> ResolvedScenario:
    """The scenario's assumptions for each month.

    `base` holds the value of every rate the scenario may leave out
    (`base_rates`, plus `net_eligible_share` for a warehouse); `fixings`
    the index fixings of the period projected from (held flat).
    """
    for index in scenario.index_fixings:
        _require_index(index, fixings, scenario.name)

    def fixings_of(month: int) -> dict[str, Decimal]:
        path = scenario.index_fixings
        return {
            index: _at(path[index], month) if index in path else rate
            for index, rate in fixings.items()
        }

    if scenario.measures is not None:
        return ResolvedScenario(
            scenario.name,
            tuple(
                MonthAssumptions(fixings=fixings_of(n), measures=dict(m))
                for n, m in enumerate(scenario.measures, start=1)
            ),
        )
    months = []
    for n in range(1, horizon_months + 1):
        rates = {}
        for rate in RATES:
            given = _monthly(getattr(scenario, rate), n)
            if given is None and rate not in base:
                continue  # not a warehouse: no eligible share
            value = Fraction(given) if given is not None else base[rate]
            factor = scenario.multipliers.get(rate)
            if factor is not None:
                value *= Fraction(factor)
            low, high = RATE_RANGES[rate]
            rates[rate] = min(max(value, Fraction(low)), Fraction(high))  # capped at its range
        months.append(MonthAssumptions(rates=rates, fixings=fixings_of(n)))
    return ResolvedScenario(scenario.name, tuple(months))


def _require_index(index: str, fixings: Mapping[str, Decimal], scenario: str) -> None:
    if index not in fixings:
        known = ", ".join(sorted(fixings)) or "none"
        raise ProjectionConfigError(
            f"scenario {scenario}: index_fixings names {index}, which no note of the vehicle "
            f"uses (its indices: {known})"
        )


# ---------------------------------------------------------------------------
# the base scenario from published pool performance


def monthly_rates(measures: Mapping[str, int]) -> dict[str, Fraction | None]:
    """The scenario rates one published period realised (None: a zero or
    missing denominator, or a missing numerator)."""

    def ratio(numerator: str | tuple[str, ...], denominator: str, times: int = 1):
        names = (numerator,) if isinstance(numerator, str) else numerator
        if denominator not in measures or any(n not in measures for n in names):
            return None
        if measures[denominator] == 0:
            return None
        return Fraction(sum(int(measures[n]) for n in names) * times, int(measures[denominator]))

    sixty_plus = tuple(f"delinquent_{b}" for b in SIXTY_PLUS_BUCKETS)
    return {
        "payment_rate": ratio("principal_collections", "beginning_principal"),
        "purchase_rate": ratio("purchases", "beginning_principal"),
        "portfolio_yield": ratio("finance_charge_collections", "beginning_principal", 12),
        "gross_chargeoff_rate": ratio("chargeoff_principal", "beginning_principal", 12),
        "recovery_rate": ratio("recoveries", "chargeoff_principal"),
        "delinquency_60_plus": ratio(sixty_plus, "ending_total"),
    }


SIXTY_PLUS_BUCKETS: tuple[str, ...] = ("60_89", "90_119", "120_149", "150_179")


def base_rates(history: Sequence[Mapping[str, int]]) -> dict[str, Fraction]:
    """Trailing 3-month averages of the published pool performance.

    `history` holds the published periods' measures, oldest first; the last
    three are averaged (a simple mean, metrics.md). A month without a value
    for a rate (a zero denominator: no beginning balance, no charge-offs) is
    left out of that rate's mean; a rate no month has a value for is zero.
    """
    window = [monthly_rates(m) for m in history[-BASE_WINDOW:]]
    means = {}
    for rate in POOL_RATES:
        values = [w[rate] for w in window if w[rate] is not None]
        means[rate] = sum(values, Fraction(0)) / len(values) if values else Fraction(0)
    return means
