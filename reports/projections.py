"""The report section "Trigger headroom and projections", built from
`projections.parquet` alone.

Per scenario, a table of the vehicle's triggers (threshold, value and
headroom at the period, the smallest projected headroom, the first projected
breach or "none within N months"), the events that matter to an analyst
(amortization start, notes paid off, notes paid off if amortization started
next month, a warehouse's minimum availability) and the scenario's first
month of assumptions; then one chart of a trigger's projected value against
its threshold.

Every printed figure names its row of `projections.parquet` with
`data-frame="projections"`, `data-scenario`, `data-month`, `data-measure`,
and `data-format` says how `funding.projections.table.format_projection`
printed it, so a test (or an auditor) can check each one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import polars as pl
from markupsafe import Markup

from funding.projections.table import format_projection, measure_unit
from reports import charts

FRAME = "projections"
ASSUMPTION_LABELS = {
    "payment_rate": "Payment rate (monthly)",
    "purchase_rate": "Purchase rate (monthly)",
    "portfolio_yield": "Portfolio yield (annualised)",
    "gross_chargeoff_rate": "Gross charge-off rate (annualised)",
    "recovery_rate": "Recovery rate (of charge-offs)",
    "delinquency_60_plus": "60+ day delinquency",
    "net_eligible_share": "Net eligible share of pool",
}


@dataclass(frozen=True)
class Figure:
    scenario: str
    month: str
    measure: str
    format: str
    text: str
    classes: str


@dataclass(frozen=True)
class TriggerLine:
    name: str
    threshold: Figure | None
    value: Figure | None
    headroom: Figure | None
    minimum: Figure | None
    first_breach: Figure | None
    note: str  # shown when the projection cannot derive the trigger


@dataclass(frozen=True)
class Fact:
    label: str
    figure: Figure | None


@dataclass(frozen=True)
class ScenarioView:
    name: str
    anchor: str
    triggers: tuple[TriggerLine, ...]
    facts: tuple[Fact, ...]
    assumptions: tuple[Fact, ...]


@dataclass(frozen=True)
class ProjectionsView:
    start_month: str
    first_month: str
    horizon: int
    scenarios: tuple[ScenarioView, ...]
    chart: Markup | None
    chart_caption: str


class _Rows:
    """The frame's rows by (scenario, month, measure), and by measure."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        self.by_key: dict[tuple[str, str, str], Decimal] = {
            (r["scenario"], r["month"], r["measure"]): r["value"]
            for r in frame.iter_rows(named=True)
        }
        self.months_of: dict[tuple[str, str], list[str]] = {}
        for scenario, month, measure in self.by_key:
            self.months_of.setdefault((scenario, measure), []).append(month)
        for months in self.months_of.values():
            months.sort()

    def figure(
        self, scenario: str, month: str, measure: str, kind: str = "amount"
    ) -> Figure | None:
        value = self.by_key.get((scenario, month, measure))
        if value is None:
            return None
        text = format_projection(kind, measure, month, value)
        unit = measure_unit(measure)
        classes = ["num", unit]
        if kind == "amount" and unit in ("usd", "ratio") and value < 0:
            classes.append("neg")
        return Figure(scenario, month, measure, kind, text, " ".join(classes))

    def event(self, scenario: str, measure: str, kind: str = "month") -> Figure | None:
        months = self.months_of.get((scenario, measure))
        return self.figure(scenario, months[0], measure, kind) if months else None

    def series(self, scenario: str, measure: str) -> dict[str, Decimal]:
        return {
            month: self.by_key[(scenario, month, measure)]
            for month in self.months_of.get((scenario, measure), [])
        }


def projections_view(frame: pl.DataFrame | None) -> ProjectionsView | None:
    """The section's view model; None without projections."""
    if frame is None or frame.height == 0:
        return None
    rows = _Rows(frame)
    scenarios = list(dict.fromkeys(frame["scenario"].to_list()))
    horizon_rows = frame.filter(pl.col("measure") == "summary.horizon_months")
    start_month = horizon_rows["month"][0]
    horizon = int(horizon_rows["value"][0])
    first_month = min(m for m in frame["month"].unique().to_list() if m > start_month)
    triggers = _trigger_names(frame)
    views = tuple(_scenario(rows, name, start_month, first_month, triggers) for name in scenarios)
    chart, caption = _chart(rows, scenarios, triggers, start_month, horizon)
    return ProjectionsView(start_month, first_month, horizon, views, chart, caption)


def _trigger_names(frame: pl.DataFrame) -> list[str]:
    prefix, suffix = "summary.trigger.", ".projected"
    measures = frame.filter(
        pl.col("measure").str.starts_with(prefix) & pl.col("measure").str.ends_with(suffix)
    )["measure"]
    return list(dict.fromkeys(m[len(prefix) : -len(suffix)] for m in measures.to_list()))


def _money(rows: _Rows, scenario: str, start: str, name: str) -> str:
    """The unit suffix of a trigger's measures (`_cents` for a money-valued one)."""
    return "_cents" if (scenario, start, f"trigger.{name}.threshold_cents") in rows.by_key else ""


def _scenario(rows: _Rows, name: str, start: str, first: str, triggers: list[str]) -> ScenarioView:
    none = rows.figure(name, start, "summary.horizon_months", "none_within")
    lines = []
    for trigger in triggers:
        unit = _money(rows, name, start, trigger)
        projected = rows.by_key.get((name, start, f"summary.trigger.{trigger}.projected"))
        lines.append(
            TriggerLine(
                name=trigger,
                threshold=rows.figure(name, start, f"trigger.{trigger}.threshold{unit}"),
                value=rows.figure(name, start, f"trigger.{trigger}.value{unit}"),
                headroom=rows.figure(name, start, f"trigger.{trigger}.headroom{unit}"),
                minimum=rows.event(
                    name, f"summary.trigger.{trigger}.minimum_headroom{unit}", "amount_in_month"
                ),
                first_breach=rows.event(name, f"summary.trigger.{trigger}.first_breach") or none,
                note=""
                if projected
                else "not projected (its ratio needs measures the projection does not derive)",
            )
        )
    amortizing = (name, start, "status.amortizing")
    already = rows.figure(*amortizing, "already") if rows.by_key.get(amortizing) else None
    facts = [
        Fact(
            "Amortization starts",
            already or rows.event(name, "summary.amortization.start") or none,
        ),
        Fact("Notes paid off", rows.event(name, "summary.notes.paid_off") or none),
        Fact(
            f"Notes paid off if amortization started in {first}",
            rows.event(name, "summary.notes.paid_off_if_amortizing") or none,
        ),
    ]
    availability = rows.event(
        name, "summary.borrowing_base.minimum_availability_cents", "amount_in_month"
    )
    if availability is not None:
        facts.append(Fact("Minimum availability (warehouse)", availability))
    assumptions = [
        Fact(label, rows.figure(name, first, f"assumption.{rate}"))
        for rate, label in ASSUMPTION_LABELS.items()
        if (name, first, f"assumption.{rate}") in rows.by_key
    ]
    fixings = sorted(
        m
        for (s, month, m) in rows.by_key
        if s == name and month == first and m.startswith("assumption.fixing.")
    )
    assumptions += [
        Fact(
            f"Index {m.removeprefix('assumption.fixing.').removesuffix('_bps')}",
            rows.figure(name, first, m),
        )
        for m in fixings
    ]
    return ScenarioView(
        name=name,
        anchor=f"projections-{name}",
        triggers=tuple(lines),
        facts=tuple(facts),
        assumptions=tuple(assumptions),
    )


def _chart(
    rows: _Rows, scenarios: list[str], triggers: list[str], start: str, horizon: int
) -> tuple[Markup | None, str]:
    """The projected value of one trigger against its threshold: the first one
    that breaches in any scenario, else the first ratio (not money) trigger the
    projection derives, else the first one it derives (config order)."""
    candidates = [
        t
        for t in triggers
        if any(rows.by_key.get((s, start, f"summary.trigger.{t}.projected")) for s in scenarios)
    ]
    if not candidates:
        return None, ""
    breaching = [
        t
        for t in candidates
        if any(rows.event(s, f"summary.trigger.{t}.first_breach") for s in scenarios)
    ]
    ratios = [t for t in candidates if not _money(rows, scenarios[0], start, t)]
    trigger = (breaching or ratios or candidates)[0]
    unit = _money(rows, scenarios[0], start, trigger)
    measure = f"trigger.{trigger}.value{unit}"
    months = sorted({m for s in scenarios for m in rows.series(s, measure)} | {start})
    index = {m: float(i) for i, m in enumerate(months)}
    scale = 100.0 if unit else 1.0  # cents to dollars
    series = [
        charts.Series(
            name=s,
            points=tuple(
                (index[m], None if v is None else float(v) / scale)
                for m, v in ((m, rows.series(s, measure).get(m)) for m in months)
            ),
            color=charts.PALETTE[i % len(charts.PALETTE)],
            markers=len(months) <= 13,
        )
        for i, s in enumerate(scenarios)
    ]
    threshold = rows.by_key.get((scenarios[0], start, f"trigger.{trigger}.threshold{unit}"))
    if threshold is not None:
        series.append(
            charts.Series(
                name="threshold",
                points=tuple((index[m], float(threshold) / scale) for m in months),
                color=charts.NEGATIVE_BAR_COLOR,
                dash="6 3",
                markers=False,
            )
        )
    step = max(1, -(-len(months) // 13))
    ticks = [
        (index[m], charts.period_tick(m, i == 0)) for i, m in enumerate(months) if i % step == 0
    ]
    chart = charts.line_chart(
        f"{trigger}: projected value against its threshold",
        series,
        ticks,
        (0.0, float(len(months) - 1)),
        charts.money_formatter if unit else charts.percent_formatter,
    )
    caption = (
        f"{trigger}: value at {start} and projected over {horizon} months by scenario; "
        "the dashed line is the threshold."
    )
    return chart, caption
