"""The waterfall part of an investor package: what it is built from, its
sections in report order, and the vehicle status, priority of payments and
trigger tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import polars as pl

from funding.outputs.figures.common import day_label, month_label
from funding.outputs.figures.frame import FIGURE_SCHEMA, combine, section_frame
from funding.outputs.figures.notes import note_terms_section, notes_section, reserve_section
from funding.outputs.figures.trust import (
    allocation_percentage_section,
    allocation_section,
    excess_spread_section,
    invested_section,
    seller_interest_test_section,
)
from funding.outputs.labels import (
    EFFECT_LABELS,
    MONEY_RATIOS,
    NEEDS_THREE_MONTHS,
    NO_VALUE,
    OPERATOR_WORDS,
    STATUS_LABELS,
    statement_label,
    trigger_value_label,
)
from funding.period import Period
from funding.structure.config import StructureConfig
from funding.structure.triggers import (
    REVOLVING,
    SELLER_INTEREST_TO_INVESTED,
    fraction_to_decimal_string,
)
from funding.structure.waterfall.state import VehicleState


@dataclass(frozen=True)
class Amortization:
    """Since which period a vehicle amortizes, and the triggers that caused it
    (none for the scheduled end of the revolving period)."""

    since: Period
    triggers: tuple[str, ...] = ()


def amortization_onset(
    states: Sequence[tuple[Period, VehicleState]],
) -> Period | None:
    """The first period of the amortization the last state is in (None while
    revolving). `states`: the vehicle's closing states, oldest first."""
    if not states or states[-1][1].status == REVOLVING:
        return None
    status = states[-1][1].status
    since = states[-1][0]
    for period, state in reversed(states):
        if state.status != status:
            break
        since = period
    return since


@dataclass(frozen=True)
class WaterfallPeriod:
    """What the waterfall part of a report is built from, for one period.

    `summaries`: the `waterfall_summary` rows of up to the last three
    periods, oldest first, this period last. `original_balances`: each
    class's balance at closing (the first period's opening state).
    """

    statement: pl.DataFrame
    triggers: pl.DataFrame
    opening: VehicleState
    closing: VehicleState
    summaries: Sequence[tuple[Period, Mapping[str, object]]]
    allocation: pl.DataFrame
    note_interest: pl.DataFrame
    original_balances: Mapping[str, int]
    amortization: Amortization | None = None


def waterfall_figures(config: StructureConfig, period: WaterfallPeriod) -> pl.DataFrame:
    """Allocation, seller's interest, excess spread, notes, reserve, status,
    statement and trigger tests of one period (a warehouse has no floating
    allocation, seller's interest test or excess spread section)."""
    floating = config.investor_allocation == "floating"
    summary = period.summaries[-1][1]
    sections: list[pl.DataFrame] = []
    if floating:
        sections += [
            invested_section(summary, 101),
            allocation_percentage_section(summary, 102),
            allocation_section(period.allocation, 103),
            seller_interest_test_section(config, summary, 104),
            excess_spread_section(config, period.summaries, 105),
        ]
    sections += [
        note_terms_section(period.note_interest, floating, 110),
        notes_section(period, floating, 111),
    ]
    if config.reserve_account is not None:
        sections.append(reserve_section(period, summary, 112))
    sections.append(status_section(config, period, 113))
    sections += _statement_sections(period.statement, 120)
    sections.append(trigger_section(period.triggers, 130))
    return combine([s for s in sections if s is not None])


def status_section(config: StructureConfig, period: WaterfallPeriod, order: int) -> pl.DataFrame:
    closing = period.closing
    rows = [("Status", STATUS_LABELS.get(closing.status, closing.status))]
    if period.amortization is not None:
        rows.append(("Amortizing since", month_label(period.amortization.since)))
        cause = (
            "; ".join(_trigger_name(config, t) for t in period.amortization.triggers)
            if period.amortization.triggers
            else "End of the revolving period"
        )
        rows.append(("Caused by", cause))
    if config.revolving_period_end is not None:
        rows.append(("Revolving period ends", day_label(config.revolving_period_end)))
    rows.append(("Cash trap", "Yes" if closing.cash_trap else "No"))
    return section_frame(
        "status",
        order,
        "Vehicle status",
        pl.DataFrame(rows, schema={"item": pl.String, "value": pl.String}, orient="row"),
        "item",
        {"value": ("This period", "text")},
    )


def _trigger_name(config: StructureConfig, name: str) -> str:
    trigger = next((t for t in config.triggers if t.name == name), None)
    if trigger is None:
        return name
    return f"{name} ({_trigger_test_text(trigger.ratio, trigger.op, trigger.threshold)})"


def _trigger_test_text(ratio: str, op: str, threshold: Decimal) -> str:
    if ratio in MONEY_RATIOS:
        shown = f"${Decimal(threshold) / 100:,.2f}"
    else:
        shown = f"{Decimal(threshold) * 100:.2f}%"
    return f"{trigger_value_label(ratio)} {OPERATOR_WORDS.get(op, op)} {shown}"


# Where a trigger's value is shown in full.
SEE_SECTION = {
    "excess_spread": " (see Excess spread)",
    "excess_spread_3m_avg": " (see Excess spread)",
    SELLER_INTEREST_TO_INVESTED: " (see Minimum seller's interest test)",
}

STATEMENT_TITLES = {
    "interest": "Interest waterfall (application of finance charge collections)",
    "principal": "Principal waterfall (application of principal collections)",
    "facility": "Facility advances",
}


def _statement_sections(statement: pl.DataFrame, first_order: int) -> list[pl.DataFrame]:
    """The priority of payments, one table per waterfall, steps in order and
    labelled as a statement reads. An uncovered defaulted amount is shown as
    the investor charge-off it becomes, not as a shortfall."""
    sections = []
    for i, waterfall in enumerate(("interest", "principal", "facility")):
        rows = statement.filter(pl.col("waterfall") == waterfall)
        if rows.height == 0:
            continue
        write_down = pl.col("action") == "defaulted_amount"
        labelled = rows.with_columns(
            pl.struct("waterfall", "action", "target")
            .map_elements(
                lambda r: statement_label(r["waterfall"], r["action"], r["target"]),
                return_dtype=pl.String,
            )
            .alias("line"),
            pl.when(write_down).then(0).otherwise("shortfall_cents").alias("unpaid_cents"),
            pl.when(write_down).then("shortfall_cents").otherwise(None).alias("written_down_cents"),
        )
        columns = {
            "due_cents": ("Due", "usd"),
            "paid_cents": ("Paid", "usd"),
            "from_reserve_cents": ("Of which from the reserve", "usd"),
            "unpaid_cents": ("Unpaid", "usd"),
            "written_down_cents": ("Investor charge-off", "usd"),
            "available_after_cents": ("Funds left after the step", "usd"),
        }
        if rows.filter(pl.col("action") == "defaulted_amount").height == 0:
            del columns["written_down_cents"]
        sections.append(
            section_frame(
                f"statement_{waterfall}",
                first_order + i,
                STATEMENT_TITLES[waterfall],
                labelled,
                "line",
                columns,
            )
        )
    return sections


def trigger_section(triggers: pl.DataFrame, order: int) -> pl.DataFrame:
    """Each trigger: what it tests, its value, threshold and headroom (the
    distance to the threshold; negative when breached), in % or, for a money
    amount, in dollars; the result never reads "pass" without a value."""
    figures = []
    for i, t in enumerate(triggers.iter_rows(named=True), start=1):
        ratio, op = t["ratio"], t["op"]
        money = ratio in MONEY_RATIOS
        unit = "usd" if money else "ratio"
        threshold = Fraction(Decimal(t["threshold"]))
        value = None if t["value"] is None else Fraction(Decimal(t["value"]))
        headroom = None
        if value is not None:
            headroom = value - threshold if op in ("<", "<=") else threshold - value
        if value is None:
            result = NEEDS_THREE_MONTHS if ratio.endswith("_3m_avg") else NO_VALUE
        else:
            result = "BREACHED" if t["breached"] else "Pass"
        row_label = trigger_value_label(ratio) + SEE_SECTION.get(ratio, "")
        if money:
            row_label += " ($)"
        if sum(r == ratio for r in triggers["ratio"].to_list()) > 1:
            row_label += f" [{t['name']}]"
        cells = {
            "Breached when": ("text", f"{OPERATOR_WORDS.get(op, op)} the threshold"),
            "Value": (unit, value),
            "Threshold": (unit, threshold),
            "Headroom": (unit, headroom),
            "Result": ("text", result),
            "Effect": ("text", EFFECT_LABELS.get(t["effect"], t["effect"])),
        }
        for column_order, (column, (cell_unit, cell)) in enumerate(cells.items(), start=1):
            if cell_unit != "text" and cell is None:
                cell_unit, cell = "text", (result if column == "Value" else NO_VALUE)
            figures.append(
                _figure(
                    "triggers",
                    order,
                    "Trigger tests",
                    row_label,
                    i,
                    column,
                    column_order,
                    cell_unit,
                    cell,
                )
            )
    return (
        pl.DataFrame(figures, schema=FIGURE_SCHEMA)
        if figures
        else pl.DataFrame(schema=FIGURE_SCHEMA)
    )


def _figure(
    section: str,
    order: int,
    title: str,
    row: str,
    row_order: int,
    column: str,
    column_order: int,
    unit: str,
    value: object,
) -> dict[str, object]:
    """One figure row; money `value`s are cents, ratios exact fractions."""
    return {
        "section": section,
        "section_order": order,
        "title": title,
        "row": row,
        "row_order": row_order,
        "column": column,
        "column_order": column_order,
        "unit": unit,
        "amount": Decimal(int(value)).scaleb(-2) if unit == "usd" else None,
        "ratio": Decimal(fraction_to_decimal_string(value)) if unit == "ratio" else None,
        "count": int(value) if unit == "count" else None,
        "text": str(value) if unit == "text" else None,
    }
