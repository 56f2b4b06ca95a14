"""Inline SVG charts of the investor report, written by hand so the output is
deterministic and needs no JavaScript, fonts or network.

Charts draw figures that the report also prints in tables; their labels and
ticks are decoration (no `data-*` attributes), so parsing the HTML for figure
cells never picks them up. Values are floats here only to place marks; every
printed number of the report comes from `funding.figures.format_value`.

Nulls break a line (a point with no neighbour is drawn as a marker), a
single period is a marker in the middle of the plot, and a chart with no
value at all says so instead of drawing empty axes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = (
    "#1f4e79",  # navy
    "#c0504d",  # brick
    "#2e8b57",  # green
    "#e39b27",  # amber
    "#6a4c93",  # purple
    "#2b9cc4",  # sky
    "#8c564b",  # brown
    "#d45d9c",  # rose
    "#6b7b8c",  # slate
    "#9aa31f",  # olive
)
DASHES = ("", "6 3", "2 2", "8 3 2 3")
BAR_COLOR = "#1f4e79"
NEGATIVE_BAR_COLOR = "#c0504d"
AXIS_COLOR = "#4d4d4d"
GRID_COLOR = "#d9dde3"
TEXT_COLOR = "#333333"
MUTED_TEXT = "#666666"

WIDTH = 680
PLOT_LEFT = 58
PLOT_RIGHT = 14
PLOT_TOP = 14
PLOT_HEIGHT = 190
FONT = 10
CHAR_WIDTH = 5.6  # average advance of a 10px sans-serif glyph, for layout only
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Series:
    """One line: a name and a value (or None) per x position."""

    name: str
    points: tuple[tuple[float, float | None], ...]
    color: str
    dash: str = ""
    markers: bool = True


# ------------------------------------------------------------------ scales


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (1, 2, 2.5 or 5 times a power of ten)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError("tick range must be finite")
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(hi) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    return [_clean(i * step) for i in range(first, last + 1)]


def integer_ticks(lo: float, hi: float, max_ticks: int = 10) -> list[float]:
    """Whole-number ticks (every 1, 2, 3, 6, 12, ... units) within [lo, hi]."""
    span = hi - lo
    step = next(
        (s for s in (1, 2, 3, 6, 12, 24, 36, 60, 120) if span / s <= max_ticks),
        math.ceil(span / max_ticks),
    )
    first = math.ceil(lo / step) * step
    return [float(t) for t in range(first, math.floor(hi) + 1, step)]


def _clean(value: float) -> float:
    value = round(value, 12)
    return 0.0 if value == 0 else value


def _value_ticks(values: Sequence[float], include_zero: bool = True) -> list[float]:
    lo, hi = min(values), max(values)
    if include_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    return nice_ticks(lo, hi)


def distinct_decimals(
    ticks: Sequence[float], text: Callable[[float, int], str], first: int = 0
) -> int:
    """The fewest decimals (from `first`) that give every tick its own label."""
    for decimals in range(first, 7):
        if len({text(t, decimals) for t in ticks}) == len(ticks):
            return decimals
    return 6


def percent_formatter(ticks: Sequence[float]) -> Callable[[float], str]:
    """Tick labels for fractions of 1, with as many decimals as the step needs
    and never two ticks with the same label."""

    def text(v: float, decimals: int) -> str:
        return f"{v * 100:.{decimals}f}%"

    step = abs(ticks[1] - ticks[0]) * 100 if len(ticks) > 1 else 1.0
    decimals = distinct_decimals(ticks, text, 0 if step >= 1 else 1 if step >= 0.1 else 2)
    return lambda v: text(v, decimals)


def compact_money(value: float) -> str:
    """A bar's label: $140.1M, $6.5M, $321K, $950."""
    sign = "-" if value < 0 else ""
    size = abs(value)
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if size >= scale:
            return f"{sign}${size / scale:,.1f}{suffix}"
    return f"{sign}${size:,.0f}"


def money_formatter(ticks: Sequence[float]) -> Callable[[float], str]:
    """Compact currency tick labels ($0, $250K, $1.5M, $2B)."""
    top = max((abs(t) for t in ticks), default=0.0)
    scale, suffix = next(
        ((s, x) for s, x in ((1e9, "B"), (1e6, "M"), (1e3, "K")) if top >= s), (1.0, "")
    )
    scaled = [abs(t) / scale for t in ticks]
    decimals = 0 if all(abs(v - round(v)) < 1e-9 for v in scaled) else 1
    if decimals and not all(abs(v * 10 - round(v * 10)) < 1e-9 for v in scaled):
        decimals = 2

    def text(v: float, places: int) -> str:
        sign = "-" if v < 0 else ""
        return f"{sign}${abs(v) / scale:,.{places}f}{suffix}"

    decimals = distinct_decimals(ticks, text, decimals)
    return lambda v: text(v, decimals)


# ------------------------------------------------------------------ svg pieces


def _n(value: float) -> str:
    """A coordinate with one decimal and no '-0.0', so output is stable."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _text(
    x: float,
    y: float,
    content: str,
    *,
    anchor: str = "middle",
    size: int = FONT,
    color: str = TEXT_COLOR,
    weight: str = "normal",
) -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{color}" font-weight="{weight}">{escape(content)}</text>'
    )


def _svg(height: float, label: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" role="img" aria-label="{escape(label)}" width="{WIDTH}" '
        f'height="{_n(height)}" viewBox="0 0 {WIDTH} {_n(height)}" '
        f"font-family=\"Helvetica, Arial, 'DejaVu Sans', sans-serif\">"
        f"<title>{escape(label)}</title>" + "".join(body) + "</svg>"
    )


def _empty(label: str) -> Markup:
    return _svg(
        60,
        label,
        [
            f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="59" fill="#fafafa" '
            f'stroke="{GRID_COLOR}"/>',
            _text(WIDTH / 2, 34, "No data for this period", color=MUTED_TEXT),
        ],
    )


def _y_axis(
    ticks: Sequence[float],
    y: Callable[[float], float],
    fmt: Callable[[float], str],
    plot_width: float,
) -> list[str]:
    parts = []
    for tick in ticks:
        ty = y(tick)
        color = AXIS_COLOR if tick == 0 else GRID_COLOR
        parts.append(
            f'<line x1="{PLOT_LEFT}" y1="{_n(ty)}" x2="{_n(PLOT_LEFT + plot_width)}" '
            f'y2="{_n(ty)}" stroke="{color}" stroke-width="{1 if tick == 0 else 0.7}"/>'
        )
        parts.append(_text(PLOT_LEFT - 6, ty + 3.5, fmt(tick), anchor="end", color=MUTED_TEXT))
    return parts


def _legend(items: Sequence[tuple[str, str, str]], top: float) -> tuple[list[str], float]:
    """Legend entries (name, color, dash) flowing in rows; returns parts and height."""
    parts: list[str] = []
    x, row = PLOT_LEFT, 0
    for name, color, dash in items:
        width = 26 + len(name) * CHAR_WIDTH + 16
        if x + width > WIDTH - PLOT_RIGHT and x > PLOT_LEFT:
            x, row = PLOT_LEFT, row + 1
        ly = top + row * 16
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{_n(x)}" y1="{_n(ly)}" x2="{_n(x + 20)}" y2="{_n(ly)}" '
            f'stroke="{color}" stroke-width="2.2"{dash_attr}/>'
        )
        parts.append(_text(x + 26, ly + 3.5, name, anchor="start"))
        x += width
    return parts, (row + 1) * 16 if items else 0


# ------------------------------------------------------------------ charts


def line_chart(
    label: str,
    series: Sequence[Series],
    x_ticks: Sequence[tuple[float, str]],
    x_domain: tuple[float, float],
    y_format: Callable[[Sequence[float]], Callable[[float], str]],
    x_title: str = "",
) -> Markup:
    """Lines over a shared x scale; None values break a line."""
    values = [v for s in series for _, v in s.points if v is not None]
    if not values:
        return _empty(label)
    ticks = _value_ticks(values)
    fmt = y_format(ticks)
    plot_width = WIDTH - PLOT_LEFT - PLOT_RIGHT
    lo, hi = ticks[0], ticks[-1]
    x_lo, x_hi = x_domain
    inset = 12.0

    def x(value: float) -> float:
        if x_hi == x_lo:
            return PLOT_LEFT + plot_width / 2
        return PLOT_LEFT + inset + (value - x_lo) / (x_hi - x_lo) * (plot_width - 2 * inset)

    def y(value: float) -> float:
        return PLOT_TOP + PLOT_HEIGHT - (value - lo) / (hi - lo) * PLOT_HEIGHT

    parts = _y_axis(ticks, y, fmt, plot_width)
    bottom = PLOT_TOP + PLOT_HEIGHT
    tick_lines = 1
    for value, text in x_ticks:
        tx = x(value)
        parts.append(
            f'<line x1="{_n(tx)}" y1="{_n(bottom)}" x2="{_n(tx)}" y2="{_n(bottom + 4)}" '
            f'stroke="{AXIS_COLOR}" stroke-width="0.8"/>'
        )
        for i, line in enumerate(text.split("\n")):
            parts.append(_text(tx, bottom + 15 + i * 11, line, color=MUTED_TEXT))
        tick_lines = max(tick_lines, len(text.split("\n")))
    parts.append(
        f'<line x1="{PLOT_LEFT}" y1="{_n(bottom)}" x2="{_n(PLOT_LEFT + plot_width)}" '
        f'y2="{_n(bottom)}" stroke="{AXIS_COLOR}" stroke-width="1"/>'
    )
    axis_bottom = bottom + 8 + tick_lines * 11
    if x_title:
        axis_bottom += 12
        parts.append(_text(PLOT_LEFT + plot_width / 2, axis_bottom, x_title, color=MUTED_TEXT))

    for s in series:
        dash_attr = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        for run in _runs(s.points):
            if len(run) > 1:
                coords = " ".join(f"{_n(x(px))},{_n(y(py))}" for px, py in run)
                parts.append(
                    f'<polyline points="{coords}" fill="none" stroke="{s.color}" '
                    f'stroke-width="1.8" stroke-linejoin="round"{dash_attr}/>'
                )
            if s.markers or len(run) == 1:
                parts.extend(
                    f'<circle cx="{_n(x(px))}" cy="{_n(y(py))}" r="2.4" fill="{s.color}"/>'
                    for px, py in run
                )
    legend, legend_height = _legend([(s.name, s.color, s.dash) for s in series], axis_bottom + 16)
    parts.extend(legend)
    return _svg(axis_bottom + 8 + legend_height, label, parts)


def _runs(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    runs: list[list[tuple[float, float]]] = [[]]
    for px, py in points:
        if py is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((px, py))
    return [r for r in runs if r]


def bar_chart(
    label: str,
    bars: Sequence[tuple[str, float | None]],
    y_format: Callable[[Sequence[float]], Callable[[float], str]],
    value_label: Callable[[float], str] | None = None,
) -> Markup:
    """Vertical bars, one per category; a None value leaves its slot empty."""
    values = [v for _, v in bars if v is not None]
    if not values:
        return _empty(label)
    ticks = _value_ticks(values)
    fmt = y_format(ticks)
    plot_width = WIDTH - PLOT_LEFT - PLOT_RIGHT
    lo, hi = ticks[0], ticks[-1]

    def y(value: float) -> float:
        return PLOT_TOP + PLOT_HEIGHT - (value - lo) / (hi - lo) * PLOT_HEIGHT

    parts = _y_axis(ticks, y, fmt, plot_width)
    slot = plot_width / len(bars)
    bar_width = min(slot * 0.62, 64)
    bottom = PLOT_TOP + PLOT_HEIGHT
    label_lines = 1
    for i, (name, value) in enumerate(bars):
        cx = PLOT_LEFT + slot * (i + 0.5)
        if value is not None:
            top, base = sorted((y(value), y(0.0)))
            color = NEGATIVE_BAR_COLOR if value < 0 else BAR_COLOR
            parts.append(
                f'<rect x="{_n(cx - bar_width / 2)}" y="{_n(top)}" width="{_n(bar_width)}" '
                f'height="{_n(max(base - top, 0.6))}" fill="{color}"/>'
            )
            if value_label is not None:
                ly = top - 4 if value >= 0 else base + 11
                parts.append(_text(cx, ly, value_label(value), size=9))
        lines = _wrap(name, max(int(slot / CHAR_WIDTH), 4))
        label_lines = max(label_lines, len(lines))
        for j, line in enumerate(lines):
            parts.append(_text(cx, bottom + 15 + j * 11, line, color=MUTED_TEXT))
    parts.append(
        f'<line x1="{PLOT_LEFT}" y1="{_n(bottom)}" x2="{_n(PLOT_LEFT + plot_width)}" '
        f'y2="{_n(bottom)}" stroke="{AXIS_COLOR}" stroke-width="1"/>'
    )
    return _svg(bottom + 10 + label_lines * 11, label, parts)


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines[:3] or [""]


# ------------------------------------------------------------------ report charts


_AVERAGE_SUFFIX = re.compile(
    r"(?:\s*\((?:3m|3-month) (?:avg|average)\)|,\s*3-month average)\s*$", re.IGNORECASE
)
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def period_tick(label: str, first: bool) -> str:
    """'2025-03' as 'Mar' (with the year under it in January and on the first tick)."""
    match = _PERIOD.match(label)
    if not match or not 1 <= int(match[2]) <= 12:
        return label
    month = MONTHS[int(match[2]) - 1]
    return f"{month}\n{match[1]}" if first or match[2] == "01" else month


def period_ticks(labels: Sequence[str]) -> list[str]:
    """Tick texts of consecutive periods: the year under the first, under
    January and under a month name already shown, so no two ticks read alike."""
    ticks: list[str] = []
    months: set[str] = set()
    for i, label in enumerate(labels):
        tick = period_tick(label, i == 0)
        month = tick.split("\n", 1)[0]
        match = _PERIOD.match(label)
        if match and month in months and "\n" not in tick:
            tick = f"{tick}\n{match[1]}"
        months.add(month)
        ticks.append(tick)
    return ticks


def trend_chart(
    periods: Sequence[str], columns: Sequence[tuple[str, Sequence[float | None]]]
) -> Markup:
    """Headline ratios by period; an '(3m avg)' column is dashed in its ratio's colour."""
    colors: dict[str, str] = {}
    series = []
    for name, values in columns:
        base = _AVERAGE_SUFFIX.sub("", name)
        is_average = base != name
        if base not in colors:
            colors[base] = PALETTE[len(colors) % len(PALETTE)]
        series.append(
            Series(
                name=name,
                points=tuple((float(i), v) for i, v in enumerate(values)),
                color=colors[base],
                dash="5 3" if is_average else "",
                markers=not is_average,
            )
        )
    step = max(1, math.ceil(len(periods) / 14))
    shown = [(i, p) for i, p in enumerate(periods) if i % step == 0]
    ticks = list(
        zip((float(i) for i, _ in shown), period_ticks([p for _, p in shown]), strict=True)
    )
    return line_chart(
        f"Headline ratios, monthly trend: {group_caption(columns)}",
        series,
        ticks,
        (0.0, float(max(len(periods) - 1, 0))),
        percent_formatter,
    )


# Rates at or above this (payment rate, yield) are drawn apart from those
# below it (losses, delinquency), so neither flattens the other.
HIGH_SCALE = 0.12


def split_by_scale(
    columns: Sequence[tuple[str, Sequence[float | None]]],
) -> list[list[tuple[str, Sequence[float | None]]]]:
    """The series in two groups by the size of their ratio's values, each
    3-month average with its ratio; empty groups are dropped."""
    peaks: dict[str, float] = {}
    for name, values in columns:
        base = _AVERAGE_SUFFIX.sub("", name)
        peaks[base] = max([peaks.get(base, 0.0), *(abs(v) for v in values if v is not None)])
    high = [c for c in columns if peaks[_AVERAGE_SUFFIX.sub("", c[0])] >= HIGH_SCALE]
    low = [c for c in columns if peaks[_AVERAGE_SUFFIX.sub("", c[0])] < HIGH_SCALE]
    return [group for group in (high, low) if group]


def group_caption(columns: Sequence[tuple[str, Sequence[float | None]]]) -> str:
    """'Monthly payment rate and portfolio yield (annualised)' for a group."""
    bases = list(dict.fromkeys(_AVERAGE_SUFFIX.sub("", name) for name, _ in columns))
    if not bases:
        return ""
    rest = [b[:1].lower() + b[1:] for b in bases[1:]]
    return " and ".join([", ".join([bases[0], *rest[:-1]]), *rest[-1:]]) if rest else bases[0]


VINTAGE_CAPTION = (
    "Cumulative net charge-offs (net of recoveries: a curve dips when a month's "
    "recoveries exceed its charge-offs), % of original credit limit, by months on book"
)


def vintage_chart(
    months: Sequence[float], vintages: Sequence[tuple[str, Sequence[float | None]]]
) -> Markup:
    """One line per vintage over months on book."""
    series = [
        Series(
            name=name,
            points=tuple(zip(months, values, strict=True)),
            color=PALETTE[i % len(PALETTE)],
            dash=DASHES[(i // len(PALETTE)) % len(DASHES)],
            markers=len(months) <= 13,
        )
        for i, (name, values) in enumerate(vintages)
    ]
    if months:
        lo, hi = min(months), max(months)
        ticks = integer_ticks(lo, hi) or [lo]
        domain = (lo, hi)
    else:
        ticks, domain = [], (0.0, 0.0)
    x_ticks = [(t, f"{t:g}") for t in ticks]
    return line_chart(
        "Vintage cumulative net charge-offs by months on book",
        series,
        x_ticks,
        domain,
        percent_formatter,
        x_title="Months on book",
    )


def delinquency_chart(buckets: Sequence[tuple[str, float | None]]) -> Markup:
    return bar_chart("Delinquency by bucket", buckets, money_formatter, compact_money)
