"""Pool performance ratios: evaluated from configuration, never hard-coded.

Every trust and facility defines its own numerator, denominator and
annualisation, and changes them over time (`metrics.md`). So a vehicle's
config carries effective-dated ratio definitions (`RatioSchedule`) and this
module only evaluates them (`compute_ratios`).

A definition has one of three shapes:

- measure ratio ``{numerator: [a, -b], denominator: c, annualize: x12}``:
  the signed sum of measures over one measure, annualised. `annualize` is
  required, because a forgotten `x12` would silently understate a rate by
  twelve times.
- ``{difference: [x, y]}``: x - y, where each is a ratio of the same
  definitions or a measure passed in (a ratio shadows a measure of the same
  name; validated configs forbid the clash).
- ``{average_of_last: n, ratio: x}``: the mean of ratio x over this period
  and the n - 1 before it, taken from `history`; null until n non-null
  values exist.

Numerators and denominators name measures only, never ratios: a ratio of
ratios mixes units. A denominator is exactly one measure.

Arithmetic is `Decimal` in a local 34-digit context; an annualised ratio is
computed with a single division so it is rounded once, at the 34th digit.
Ratios are fractions (0.0900 is 9%) and are not rounded here: rounding is
for display.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date
from decimal import (
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from difflib import get_close_matches
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationInfo,
    field_validator,
)

from funding.ledger.snapshot import DPD_BUCKETS, MEASURES

# --------------------------------------------------------------------------- names

POOL_MEASURE_NAMES: tuple[str, ...] = (
    *MEASURES,
    "beginning_principal",
    "beginning_interest",
    "beginning_fees",
    "beginning_total",
    "ending_principal",
    "ending_interest",
    "ending_fees",
    "ending_total",
    "average_principal",
    "additions",
    "removals",
    "additions_interest",
    "additions_fees",
    "removals_interest",
    "removals_fees",
    "net_chargeoffs",
    "account_count",
    "active_account_count",
    *(f"delinquent_{bucket}" for bucket in DPD_BUCKETS),
)

# Measures a funding structure supplies from its waterfall, not from the pool.
VEHICLE_MEASURE_NAMES: tuple[str, ...] = (
    "invested_amount",
    "note_interest_due",
    "fees_due",
    "defaulted_amount",
    "available_interest_funds",
    "base_rate_amount",
    "borrowing_base_deficiency",
)

KNOWN_MEASURE_NAMES: frozenset[str] = frozenset(POOL_MEASURE_NAMES + VEHICLE_MEASURE_NAMES)

Annualization = Literal["none", "x12", "act/365", "act/360"]

# 34 digits (IEEE decimal128) is far more than any ratio of cent amounts needs;
# traps make a bad input an error instead of a NaN that prints as a ratio.
RATIO_CONTEXT = Context(prec=34, traps=[InvalidOperation, DivisionByZero, Overflow])

# ------------------------------------------------------------------ config models


class MeasureRatio(BaseModel):
    """Signed sum of measures over one measure, annualised."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    numerator: tuple[str, ...] = Field(min_length=1)
    denominator: str
    annualize: Annualization

    @field_validator("numerator", mode="before")
    @classmethod
    def _numerator_is_a_list(cls, value: Any) -> Any:
        # A bare string would otherwise read as a list of one-letter names.
        if isinstance(value, str):
            raise ValueError(f"numerator must be a list of measure names, got {value!r}")
        return value

    @field_validator("numerator")
    @classmethod
    def _terms_are_names(cls, terms: tuple[str, ...]) -> tuple[str, ...]:
        for term in terms:
            name = term.removeprefix("-")
            if not name or name.startswith("-") or name != name.strip():
                raise ValueError(f"numerator term {term!r} is not a measure name or -name")
        return terms

    @field_validator("denominator", mode="before")
    @classmethod
    def _denominator_is_one_name(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value or value.startswith("-"):
            raise ValueError(f"denominator must be one measure name, got {value!r}")
        return value

    def signed_terms(self) -> list[tuple[int, str]]:
        """(sign, measure name) for each numerator term; `-x` subtracts x."""
        return [(-1, t[1:]) if t.startswith("-") else (1, t) for t in self.numerator]


class DifferenceRatio(BaseModel):
    """x - y, e.g. portfolio yield less base rate (excess spread)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    difference: tuple[str, str]


class AverageRatio(BaseModel):
    """Simple mean of a ratio over this and the previous n - 1 periods."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    average_of_last: Annotated[int, Field(strict=True, ge=1)]
    ratio: str


def _definition_shape(value: Any) -> str | None:
    """Pick the definition shape from its keys, so an error message speaks of
    the keys the author wrote rather than of every shape that did not fit."""
    if isinstance(value, BaseModel):
        return _SHAPE_OF_MODEL.get(type(value))
    if not isinstance(value, Mapping):
        return None
    if "difference" in value:
        return "difference"
    if "average_of_last" in value or "ratio" in value:
        return "average"
    if {"numerator", "denominator", "annualize"} & set(value):
        return "measure_ratio"
    return None


_SHAPE_OF_MODEL: dict[type, str] = {
    MeasureRatio: "measure_ratio",
    DifferenceRatio: "difference",
    AverageRatio: "average",
}

RatioDefinition = Annotated[
    Annotated[MeasureRatio, Tag("measure_ratio")]
    | Annotated[DifferenceRatio, Tag("difference")]
    | Annotated[AverageRatio, Tag("average")],
    Discriminator(
        _definition_shape,
        custom_error_type="unknown_ratio_shape",
        custom_error_message=(
            "unknown ratio definition shape; expected numerator + denominator + annualize, "
            "difference: [a, b], or average_of_last: n + ratio: name"
        ),
    ),
]

_DEFINITIONS = TypeAdapter(dict[str, RatioDefinition])


class RatioSchedule(BaseModel):
    """One entry of a vehicle's `ratios` block: definitions that apply to
    periods ending on or after `effective_from`.

    Validation checks every name: a numerator or denominator must be a known
    measure (`POOL_MEASURE_NAMES` or `VEHICLE_MEASURE_NAMES`, or the set passed
    as validation context ``{"measure_names": ...}``); a `difference` may also
    name a ratio of this entry; `average_of_last` must name a ratio of this
    entry. Cycles and a ratio named like a measure are errors too. Messages
    name the ratio and the offending key and value.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    effective_from: date
    definitions: dict[str, RatioDefinition] = Field(min_length=1)

    @field_validator("definitions")
    @classmethod
    def _names_resolve(
        cls, definitions: dict[str, RatioDefinition], info: ValidationInfo
    ) -> dict[str, RatioDefinition]:
        context = info.context if isinstance(info.context, Mapping) else {}
        measure_names = frozenset(context.get("measure_names", KNOWN_MEASURE_NAMES))
        for name, definition in definitions.items():
            if name in measure_names:
                raise ValueError(f"ratio {name!r}: the name is already a measure name")
            if isinstance(definition, MeasureRatio):
                _check_measure_names(name, definition, measure_names, definitions)
        evaluation_order(definitions, measure_names)
        return definitions


def _check_measure_names(
    name: str,
    definition: MeasureRatio,
    measure_names: Collection[str],
    ratio_names: Collection[str],
) -> None:
    """Reject a numerator or denominator that is not a measure, saying whether
    it is a ratio (not allowed there) or unknown (most likely a typo)."""
    named = [("numerator", term) for _, term in definition.signed_terms()]
    for key, term in [*named, ("denominator", definition.denominator)]:
        if term in measure_names:
            continue
        if term in ratio_names:
            raise ValueError(
                f"ratio {name!r}: {key} {term!r} is a ratio; a {key} names measures only"
            )
        hint = get_close_matches(term, sorted(measure_names), n=1)
        did_you_mean = f"; did you mean {hint[0]!r}?" if hint else ""
        raise ValueError(f"ratio {name!r}: {key} {term!r} is not a known measure{did_you_mean}")


def ratio_definitions_for(
    schedules: Sequence[RatioSchedule], period_end: date
) -> dict[str, RatioDefinition]:
    """The definitions in force for a period: the entry with the latest
    `effective_from` on or before `period_end`.

    Errors if no entry applies yet, or if two entries share an
    `effective_from` (which of them applies would be a guess).
    """
    dates = [schedule.effective_from for schedule in schedules]
    duplicates = sorted({day for day in dates if dates.count(day) > 1})
    if duplicates:
        raise ValueError(f"ratios: more than one entry effective from {duplicates[0]}")
    applicable = [s for s in schedules if s.effective_from <= period_end]
    if not applicable:
        raise ValueError(
            f"ratios: no entry is effective for the period ending {period_end}"
            f" (earliest effective_from: {min(dates) if dates else 'none'})"
        )
    return dict(max(applicable, key=lambda s: s.effective_from).definitions)


# ------------------------------------------------------------------ evaluation


def _references(definition: Any) -> tuple[str, ...]:
    """Names a derived ratio reads; measure ratios read only measures."""
    if isinstance(definition, DifferenceRatio):
        return definition.difference
    if isinstance(definition, AverageRatio):
        return (definition.ratio,)
    return ()


def _check_reference(
    name: str, definition: Any, ref: str, ratios: Collection[str], measures: Collection[str]
) -> None:
    if isinstance(definition, AverageRatio) and ref not in ratios:
        raise ValueError(
            f"ratio {name!r}: ratio {ref!r} of average_of_last is not a ratio in these definitions"
        )
    if ref not in ratios and ref not in measures:
        raise ValueError(
            f"ratio {name!r}: difference names {ref!r}, which is neither a ratio"
            " in these definitions nor a measure"
        )


def evaluation_order(definitions: Mapping[str, Any], measure_names: Collection[str]) -> list[str]:
    """Ratio names ordered so that every ratio comes after the ratios it reads.

    A derived ratio may name one defined later in the mapping; a cycle or an
    unresolvable name is a ValueError naming the ratio.
    """
    order: list[str] = []
    state: dict[str, str] = {}  # "visiting" while on the stack, then "done"

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = " -> ".join((*path[path.index(name) :], name))
            raise ValueError(f"ratio {name!r}: definitions form a cycle: {cycle}")
        state[name] = "visiting"
        definition = definitions[name]
        for ref in _references(definition):
            _check_reference(name, definition, ref, definitions, measure_names)
            if ref in definitions:
                visit(ref, (*path, name))
        state[name] = "done"
        order.append(name)

    for name in definitions:
        visit(name, ())
    return order


def definitions_computable_from(
    definitions: Mapping[str, Any], measure_names: Collection[str]
) -> dict[str, RatioDefinition]:
    """The definitions that can be evaluated on these measures alone: measure
    ratios whose every measure is given, and derived ratios of those.

    A projection derives only some pool measures; the ratios it cannot derive
    are left out rather than evaluated on a missing (zero) measure.
    """
    parsed = _DEFINITIONS.validate_python(dict(definitions))
    given = frozenset(measure_names)
    kept: dict[str, RatioDefinition] = {}
    for name in evaluation_order(parsed, KNOWN_MEASURE_NAMES | given):
        definition = parsed[name]
        if isinstance(definition, MeasureRatio):
            needed = [term for _, term in definition.signed_terms()] + [definition.denominator]
            ok = all(term in given for term in needed)
        else:
            ok = all(
                ref in kept or (ref not in parsed and ref in given)
                for ref in _references(definition)
            )
        if ok:
            kept[name] = definition
    return {name: kept[name] for name in parsed if name in kept}


def _check_amount(name: str, value: Any) -> Decimal:
    """Measures are int (cents) or finite Decimal; a float is never money."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError(f"measure {name!r} must be int or Decimal, got {type(value).__name__}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"measure {name!r} is not a finite number: {value}")
    return Decimal(value)


def _annualization_factor(annualize: str, days_in_period: int) -> tuple[int, int]:
    """(multiplier, divisor) of the annualisation, kept apart so the ratio
    is formed by a single division."""
    factors = {
        "none": (1, 1),
        "x12": (12, 1),
        "act/365": (365, days_in_period),
        "act/360": (360, days_in_period),
    }
    return factors[annualize]


def _measure_ratio(
    name: str, definition: MeasureRatio, amounts: Mapping[str, Decimal], days_in_period: int
) -> Decimal | None:
    def amount(measure: str, key: str) -> Decimal:
        if measure not in amounts:
            raise ValueError(f"ratio {name!r}: {key} measure {measure!r} was not passed in")
        return amounts[measure]

    numerator = sum(
        (sign * amount(measure, "numerator") for sign, measure in definition.signed_terms()),
        Decimal(0),
    )
    denominator = amount(definition.denominator, "denominator")
    if denominator == 0:
        return None
    multiplier, divisor = _annualization_factor(definition.annualize, days_in_period)
    return (numerator * multiplier) / (denominator * divisor)


def _difference(
    definition: DifferenceRatio,
    values: Mapping[str, Decimal | None],
    amounts: Mapping[str, Decimal],
) -> Decimal | None:
    left, right = (values[n] if n in values else amounts[n] for n in definition.difference)
    if left is None or right is None:
        return None
    return left - right


def _history_value(name: str, period: Mapping[str, Any], ratio: str) -> Decimal | None:
    value = period.get(ratio)
    if value is None:
        return None
    return _check_amount(f"{ratio} (history of {name})", value)


def _average(
    name: str,
    definition: AverageRatio,
    current: Decimal | None,
    history: Sequence[Mapping[str, Any]],
) -> Decimal | None:
    """Null until n non-null values exist: an average of fewer periods is not
    the figure the trust documents define, and a trigger must not fire on it."""
    previous_needed = definition.average_of_last - 1
    if len(history) < previous_needed:
        return None
    previous = history[len(history) - previous_needed :] if previous_needed else []
    window = [_history_value(name, p, definition.ratio) for p in previous] + [current]
    if any(value is None for value in window):
        return None
    return sum(window, Decimal(0)) / len(window)


def compute_ratios(
    measures: Mapping[str, int | Decimal],
    days_in_period: int,
    definitions: Mapping[str, Mapping | RatioDefinition],
    *,
    history: Sequence[Mapping[str, Decimal | None]] = (),
) -> dict[str, Decimal | None]:
    """Evaluate ratio definitions on one period's measures.

    - `measures`: any names, amounts in one unit (cents or currency) as int or
      Decimal; a numerator or denominator measure that is missing is an error.
    - `days_in_period`: actual days, for `act/365` and `act/360`.
    - `definitions`: the shapes in the module docstring, as plain mappings
      (e.g. parsed YAML) or validated models.
    - `history`: previous periods' ratio values, most recent last, for
      `average_of_last`.

    Returns every defined ratio, in definition order, as a Decimal fraction,
    or None where a denominator is zero or an input value is None.
    """
    if isinstance(days_in_period, bool) or not isinstance(days_in_period, int):
        raise TypeError(f"days_in_period must be int, got {type(days_in_period).__name__}")
    if days_in_period <= 0:
        raise ValueError(f"days_in_period must be positive, got {days_in_period}")
    parsed = _DEFINITIONS.validate_python(dict(definitions))
    amounts = {name: _check_amount(name, value) for name, value in measures.items()}
    values: dict[str, Decimal | None] = {}
    with localcontext(RATIO_CONTEXT):
        for name in evaluation_order(parsed, amounts):
            values[name] = _evaluate(name, parsed[name], values, amounts, days_in_period, history)
    return {name: values[name] for name in parsed}


def _evaluate(
    name: str,
    definition: Any,
    values: Mapping[str, Decimal | None],
    amounts: Mapping[str, Decimal],
    days_in_period: int,
    history: Sequence[Mapping[str, Any]],
) -> Decimal | None:
    if isinstance(definition, MeasureRatio):
        return _measure_ratio(name, definition, amounts, days_in_period)
    if isinstance(definition, DifferenceRatio):
        return _difference(definition, values, amounts)
    return _average(name, definition, values[definition.ratio], history)


# ------------------------------------------------------------------ defaults


def _three_month_averages(*names: str) -> dict[str, dict[str, Any]]:
    return {f"{name}_3m_avg": {"average_of_last": 3, "ratio": name} for name in names}


# The `portfolio` view has no config file: it reports the definitions shown
# in metrics.md, plus the 3-month averages the trend tables show.
DEFAULT_RATIO_SCHEDULE = RatioSchedule.model_validate(
    {
        "effective_from": date(2000, 1, 31),
        "definitions": {
            "payment_rate": {
                "numerator": ["principal_collections", "finance_charge_collections"],
                "denominator": "beginning_total",
                "annualize": "none",
            },
            "gross_chargeoff_rate": {
                "numerator": ["chargeoff_principal"],
                "denominator": "beginning_principal",
                "annualize": "x12",
            },
            "net_chargeoff_rate": {
                "numerator": ["chargeoff_principal", "-recoveries"],
                "denominator": "beginning_principal",
                "annualize": "x12",
            },
            "portfolio_yield": {
                "numerator": ["finance_charge_collections", "recoveries"],
                "denominator": "beginning_principal",
                "annualize": "x12",
            },
            "purchase_rate": {
                "numerator": ["purchases"],
                "denominator": "beginning_principal",
                "annualize": "none",
            },
            "delinquency_60_plus": {
                "numerator": [
                    "delinquent_60_89",
                    "delinquent_90_119",
                    "delinquent_120_149",
                    "delinquent_150_179",
                ],
                "denominator": "ending_total",
                "annualize": "none",
            },
            **_three_month_averages(
                "payment_rate", "net_chargeoff_rate", "portfolio_yield", "delinquency_60_plus"
            ),
        },
    }
)
