"""`projections.parquet`: every projected figure of a vehicle, one row per
(scenario, month, measure), and the headroom summary the report prints.

Columns: `scenario` (string), `month` (`YYYY-MM`), `measure` (string),
`value` (DECIMAL(38, 12)). Month P (the period projected from) carries the
starting position; months P+1 ... P+H the projection.

Units follow the measure's name: a measure ending in `_cents` is money in
cents (exact integers); `..._bps` is basis points; flags (`status.*`,
`trigger.*.breached`, `.in_effect`, `summary.trigger.*.projected`) are 1 or
0; `summary.*` month markers hold the month number (1 = P+1); every other
value is a fraction of 1 (0.08 is 8%), rounded to 12 places.

| measure | meaning |
|---|---|
| `assumption.<rate>`, `assumption.fixing.<index>_bps` | the scenario's assumptions for the month |
| `pool.{beginning,ending}_principal_cents`, `pool.purchases_cents`, `pool.principal_collections_cents`, `pool.finance_charge_collections_cents`, `pool.chargeoffs_cents`, `pool.recoveries_cents` | the projected pool |
| `note.<class>.{interest_paid,principal_paid,balance}_cents`, `notes.balance_cents` | notes (balance at month end, after draws) |
| `reserve.balance_cents`, `vehicle.excess_spread` | reserve at month end; the vehicle excess spread |
| `status.amortizing`, `status.cash_trap` | the principal waterfall ran amortizing; cash was trapped (at P: the published status) |
| `trigger.<name>.{value,threshold,headroom}` (`..._cents` for `borrowing_base_deficiency`), `.breached`, `.in_effect` | each trigger's test |
| `borrowing_base.{borrowing_base,advances_outstanding,availability,deficiency,draw}_cents` | warehouses: the certificate's figures and the draw |
| `amortizing.notes.balance_cents` | the notes if early amortization started at P+1 |
| `summary.trigger.<name>.{first_breach,first_in_effect}` | at the first month it breaches / takes effect |
| `summary.trigger.<name>.minimum_headroom[_cents]` | the smallest headroom, at its month |
| `summary.trigger.<name>.projected` | at P: 1 if the projection derives the trigger's value |
| `summary.amortization.start`, `summary.notes.paid_off`, `summary.notes.paid_off_if_amortizing` | at the month it happens |
| `summary.borrowing_base.minimum_availability_cents` | the smallest availability, at its month |
| `summary.horizon_months` | at P: the horizon |
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction
from typing import TYPE_CHECKING

import polars as pl

from funding.outputs.figures.frame import format_value
from funding.projections.engine import Projection, ProjectionError
from funding.structure.triggers import BORROWING_BASE_DEFICIENCY, REVOLVING, headroom

if TYPE_CHECKING:
    from funding.vehicle_config import VehicleConfig

SCALE = 12
MAX_VALUE = 10 ** (38 - SCALE)
PROJECTIONS_SCHEMA: dict[str, pl.DataType] = {
    "scenario": pl.String(),
    "month": pl.String(),
    "measure": pl.String(),
    "value": pl.Decimal(38, SCALE),
}
PRINCIPAL_ACTIONS = ("principal_sequential", "principal_pro_rata", "borrowing_base_cure")

Row = tuple[str, str, str, Decimal]


def exact(value: Fraction | Decimal | int) -> Decimal:
    """A value at the table's scale (12 places, half even: display rounding of a ratio;
    cents, counts and flags are integers and exact)."""
    fraction = Fraction(value)
    if abs(fraction) >= MAX_VALUE:
        raise ProjectionError(
            f"a projected figure of {float(fraction):.3e} does not fit the table's DECIMAL(38, "
            f"{SCALE}); check the scenario's purchase and payment rates"
        )
    with localcontext(prec=60):
        scaled = Decimal(fraction.numerator) / Decimal(fraction.denominator)
        return scaled.quantize(Decimal(1).scaleb(-SCALE), rounding=ROUND_HALF_EVEN)


def trigger_suffix(ratio: str) -> str:
    """`_cents` for a trigger valued in money (funding.md: a trigger keeps its unit)."""
    return "_cents" if ratio == BORROWING_BASE_DEFICIENCY else ""


def projection_rows(
    config: VehicleConfig, projection: Projection, if_amortizing: Projection | None = None
) -> list[Row]:
    """Every row of one scenario (module docstring)."""
    name = projection.scenario.name
    start = projection.start
    rows: list[Row] = []

    def add(month: str, measure: str, value: Fraction | Decimal | int | bool) -> None:
        rows.append((name, month, measure, exact(int(value) if isinstance(value, bool) else value)))

    first = start.period.key
    add(first, "summary.horizon_months", len(projection.months))
    last = start.performance[-1] if start.performance else {}
    if "ending_principal_cents" in last:
        add(first, "pool.ending_principal_cents", int(last["ending_principal_cents"]))
    for cls, balance in start.state.note_balances.items():
        add(first, f"note.{cls}.balance_cents", balance)
    add(first, "notes.balance_cents", start.state.invested_cents)
    add(first, "reserve.balance_cents", start.state.reserve_cents)
    add(first, "status.amortizing", start.state.status != REVOLVING)
    add(first, "status.cash_trap", start.state.cash_trap)
    starting_values = start.trigger_values or {}
    projected = _projected_triggers(config, projection)
    for trigger in config.triggers:
        unit = trigger_suffix(trigger.ratio)
        add(first, f"summary.trigger.{trigger.name}.projected", trigger.name in projected)
        add(first, f"trigger.{trigger.name}.threshold{unit}", trigger.threshold)
        value = starting_values.get(trigger.name)
        if value is not None:
            add(first, f"trigger.{trigger.name}.value{unit}", value)
            limit = Fraction(trigger.threshold)
            add(first, f"trigger.{trigger.name}.headroom{unit}", headroom(trigger.op, value, limit))

    for number, month in enumerate(projection.months, start=1):
        key = month.period.key
        for rate, value in month.assumptions.rates.items():
            add(key, f"assumption.{rate}", value)
        for index, bps in month.assumptions.fixings.items():
            add(key, f"assumption.fixing.{index}_bps", bps)
        measures = month.measures
        for measure, label in (
            ("beginning_principal", "beginning_principal"),
            ("ending_principal", "ending_principal"),
            ("purchases", "purchases"),
            ("principal_collections", "principal_collections"),
            ("finance_charge_collections", "finance_charge_collections"),
            ("chargeoff_principal", "chargeoffs"),
            ("recoveries", "recoveries"),
        ):
            if measure in measures:
                add(key, f"pool.{label}_cents", int(measures[measure]))
        result = month.result
        for cls in config.class_names:
            paid = [r for r in result.statement if r.target == cls]
            add(key, f"note.{cls}.interest_paid_cents", _paid(paid, ("interest",)))
            add(key, f"note.{cls}.principal_paid_cents", _paid(paid, PRINCIPAL_ACTIONS))
            add(key, f"note.{cls}.balance_cents", result.state.note_balances[cls])
        add(key, "notes.balance_cents", result.state.invested_cents)
        add(key, "reserve.balance_cents", result.state.reserve_cents)
        if result.excess_spread is not None:
            add(key, "vehicle.excess_spread", result.excess_spread)
        add(key, "status.amortizing", result.waterfall_status != REVOLVING)
        add(key, "status.cash_trap", result.state.cash_trap)
        for test in result.trigger_tests:
            unit = trigger_suffix(test.ratio)
            if test.value is not None:
                add(key, f"trigger.{test.name}.value{unit}", test.value)
                add(key, f"trigger.{test.name}.threshold{unit}", test.threshold)
                add(key, f"trigger.{test.name}.headroom{unit}", test.headroom or 0)
            add(key, f"trigger.{test.name}.breached", test.breached)
            add(key, f"trigger.{test.name}.in_effect", test.in_effect)
        if month.borrowing_base_cents is not None:
            add(key, "borrowing_base.borrowing_base_cents", month.borrowing_base_cents)
            add(key, "borrowing_base.advances_outstanding_cents", month.advances_outstanding_cents)
            add(key, "borrowing_base.availability_cents", month.availability_cents)
            add(key, "borrowing_base.deficiency_cents", month.deficiency_cents)
            add(key, "borrowing_base.draw_cents", _paid(result.statement, ("draw",)))
        if if_amortizing is not None:
            add(key, "amortizing.notes.balance_cents", _balance(if_amortizing, number))
    rows += _summary(config, projection, if_amortizing)
    return rows


def _paid(rows: Sequence, actions: tuple[str, ...]) -> int:
    return sum(r.paid_cents for r in rows if r.action in actions)


def _balance(projection: Projection, number: int) -> int:
    return projection.months[number - 1].result.state.invested_cents


def _projected_triggers(config: VehicleConfig, projection: Projection) -> set[str]:
    """Triggers whose value the projection derives in at least one month."""
    return {
        t.name for m in projection.months for t in m.result.trigger_tests if t.value is not None
    }


def _summary(
    config: VehicleConfig, projection: Projection, if_amortizing: Projection | None
) -> list[Row]:
    name = projection.scenario.name
    months = projection.months
    rows: list[Row] = []

    def at(number: int, measure: str, value: Fraction | int) -> None:
        rows.append((name, months[number - 1].period.key, measure, exact(value)))

    numbered = list(enumerate(months, start=1))
    for trigger in config.triggers:
        tests = [
            (n, next(t for t in m.result.trigger_tests if t.name == trigger.name))
            for n, m in numbered
        ]
        breach = next((n for n, t in tests if t.breached), None)
        if breach is not None:
            at(breach, f"summary.trigger.{trigger.name}.first_breach", breach)
        effect = next((n for n, t in tests if t.in_effect), None)
        if effect is not None:
            at(effect, f"summary.trigger.{trigger.name}.first_in_effect", effect)
        valued = [(n, t.headroom) for n, t in tests if t.headroom is not None]
        if valued:
            n, least = min(valued, key=lambda item: (item[1], item[0]))
            unit = trigger_suffix(trigger.ratio)
            at(n, f"summary.trigger.{trigger.name}.minimum_headroom{unit}", least)
    amortizing = next((n for n, m in numbered if m.result.waterfall_status != REVOLVING), None)
    if amortizing is not None:
        at(amortizing, "summary.amortization.start", amortizing)
        paid_off = _paid_off(projection, amortizing)
        if paid_off is not None:
            at(paid_off, "summary.notes.paid_off", paid_off)
    if if_amortizing is not None:
        paid_off = _paid_off(if_amortizing, 1)
        if paid_off is not None:
            at(paid_off, "summary.notes.paid_off_if_amortizing", paid_off)
    availability = [
        (n, m.availability_cents) for n, m in numbered if m.availability_cents is not None
    ]
    if availability:
        n, least = min(availability, key=lambda item: (item[1], item[0]))
        at(n, "summary.borrowing_base.minimum_availability_cents", least)
    return rows


def _paid_off(projection: Projection, from_month: int) -> int | None:
    """The first month, from `from_month` on, whose notes close at zero."""
    return next(
        (
            n
            for n, m in enumerate(projection.months, start=1)
            if n >= from_month and m.result.state.invested_cents == 0
        ),
        None,
    )


def projections_frame(rows: Sequence[Row]) -> pl.DataFrame:
    """The published table: scenarios in config order, then months; within a
    month, measures in the order they were recorded (triggers in config order)."""
    frame = pl.DataFrame(rows, schema=PROJECTIONS_SCHEMA, orient="row")
    order = {name: i for i, name in enumerate(dict.fromkeys(r[0] for r in rows))}
    return (
        frame.with_columns(
            pl.col("scenario").replace_strict(order, return_dtype=pl.Int64).alias("_o")
        )
        .sort("_o", "month", maintain_order=True)
        .drop("_o")
    )


def scenario_manifest(
    start_period: str, horizon_months: int, hashes: Mapping[str, str]
) -> dict[str, object]:
    """The manifest's `projections` entry: the scenarios and their parameters' hash."""
    return {
        "start_period": start_period,
        "horizon_months": horizon_months,
        "scenarios": [{"name": n, "parameters_sha256": h} for n, h in hashes.items()],
    }


# ---------------------------------------------------------------------------
# how the report prints a projection figure (tests parse the HTML back with it)

FORMATS = ("amount", "month", "amount_in_month", "none_within", "already")


def measure_unit(measure: str) -> str:
    """`usd` (cents), `bps`, `count` (month numbers, flags) or `ratio`."""
    if measure.endswith("_cents"):
        return "usd"
    if measure.endswith("_bps"):
        return "bps"
    flag_or_month = measure.startswith(("summary.", "status.")) or measure.endswith(
        (".breached", ".in_effect")
    )
    if flag_or_month and "minimum_headroom" not in measure:
        return "count"
    return "ratio"


def format_projection(kind: str, measure: str, month: str, value: Decimal) -> str:
    """The text of a projections figure: `amount` in its unit, `month` of an
    event (its month and number), `amount_in_month` (an extreme and its month),
    `none_within` (no event over the horizon in `value` months), `already`
    (a status that already holds at the period projected from)."""
    if kind == "month":
        return f"{month} (month {int(value)})"
    if kind == "none_within":
        return f"none within {int(value)} months"
    if kind == "already":  # a status flag at the period projected from
        return f"already at {month}" if value else f"not at {month}"
    unit = measure_unit(measure)
    if unit == "usd":
        text = format_value("usd", value / 100, None, None, None)
    elif unit == "bps":
        text = f"{value:,.0f} bps"
    elif unit == "count":
        text = format_value("count", None, None, int(value), None)
    else:
        text = format_value("ratio", None, value, None, None)
    if kind == "amount":
        return text
    if kind == "amount_in_month":
        return f"{text} in {month}"
    raise ValueError(f"unknown projection format {kind!r}; one of {FORMATS}")
