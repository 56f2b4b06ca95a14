"""Investor report rendering: figure frames to one self-contained HTML file,
and that HTML to a byte-deterministic PDF.

Every figure cell is printed with `funding.figures.format_value` and carries
`data-frame`, `data-section`, `data-row` and `data-column`, so a test (or an
auditor) can map each printed number back to its Parquet row. Charts are
inline SVG built in `reports.charts` from the same frames.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from funding.outputs.figures.frame import format_value
from funding.outputs.labels import BUCKET_LABELS
from reports import charts
from reports.data import ReportData
from reports.projections import projections_view

TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE = "report.html.j2"
PAGE_SIZES = {"A4": "A4", "letter": "letter"}
MAX_TABLE_COLUMNS = 12  # wider sections are split into stacked tables
POOL_FRAME = "pool_performance"
TREND_MONTHS = 13
# Delinquency rows the bar chart leaves out: it shows the past-due buckets.
NOT_DELINQUENT = frozenset({BUCKET_LABELS["current"], BUCKET_LABELS["charged_off"]})
WATERFALL_FRAME = "waterfall"
KIND_LABELS = {
    "warehouse": "Warehouse facility",
    "trust": "Securitization trust",
    "portfolio": "Portfolio",
}
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
STATUS_CLASSES = {
    "pass": "status-pass",
    "passed": "status-pass",
    "ok": "status-pass",
    "fail": "status-fail",
    "failed": "status-fail",
    "breached": "status-fail",
    "n/a (needs 3 months)": "status-na",
    "n/a": "status-na",
}
# What a column header says about its figures' unit.
UNIT_SUFFIXES = {"usd": "$", "ratio": "%"}
CERTIFICATE_LABELS = {
    "pool_principal": "Pool principal balance",
    "ineligible_principal": "Less: ineligible principal",
    "eligible_balance": "Eligible balance",
    "excess_concentration": "Less: total excess concentrations",
    "net_eligible_balance": "Net eligible balance",
    "advance_amount": "Advance amount (at advance rate)",
    "commitment": "Facility commitment",
    "borrowing_base": "Borrowing base",
    "advances_outstanding": "Advances outstanding",
    "availability": "Availability",
    "deficiency": "Borrowing base deficiency",
}
CERTIFICATE_TOTALS = {"eligible_balance", "net_eligible_balance", "borrowing_base", "availability"}


# ------------------------------------------------------------------ view model


@dataclass(frozen=True)
class Cell:
    section: str
    row: str
    column: str
    unit: str
    text: str
    classes: str


@dataclass(frozen=True)
class Column:
    name: str  # the figures' `column` label
    numeric: bool
    title: str = ""  # the header: the label and its unit, e.g. "Beginning ($)"


@dataclass(frozen=True)
class Row:
    label: str
    cells: tuple[Cell | None, ...]


@dataclass(frozen=True)
class Table:
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    classes: str


@dataclass(frozen=True)
class Chart:
    caption: str
    svg: Markup


@dataclass(frozen=True)
class Section:
    key: str
    anchor: str
    title: str
    frame: str
    tables: tuple[Table, ...]
    charts: tuple[Chart, ...] = ()


@dataclass(frozen=True)
class CertificateLine:
    line_no: int
    code: str
    label: str
    bucket: str
    cells: tuple[tuple[str, str], ...]  # (field, formatted text)
    classes: str


@dataclass(frozen=True)
class Part:
    anchor: str
    title: str
    sections: tuple[Section, ...] = ()
    certificate: tuple[CertificateLine, ...] = field(default=())


# ------------------------------------------------------------------ public API


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The report's Jinja2 environment: templates from `reports/templates`,
    autoescaping on and undefined variables an error."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(data: ReportData, *, page_size: str = "A4") -> str:
    """The investor report as one self-contained HTML document."""
    if page_size not in PAGE_SIZES:
        raise ValueError(f"page_size must be one of {sorted(PAGE_SIZES)}, not {page_size!r}")
    return environment().get_template(TEMPLATE).render(**report_context(data, page_size))


def render_pdf(html: str) -> bytes:
    """The report HTML as PDF, byte-identical for the same HTML.

    WeasyPrint writes no /CreationDate or /ModDate unless the HTML carries
    `dcterms.created`/`dcterms.modified` meta tags (the template has none, and
    the finisher drops them anyway), and the file identifier /ID is set from
    the SHA-256 of the HTML rather than left out or generated. Nothing is
    fetched: any external resource aborts the render.
    """
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    identifier = hashlib.sha256(html.encode("utf-8")).hexdigest()[:32].encode("ascii")
    document = HTML(string=html, base_url=str(TEMPLATES), url_fetcher=_refusing_fetcher())
    try:
        return document.write_pdf(finisher=_drop_dates, pdf_identifier=identifier)
    except FatalURLFetchingError as exc:  # a BaseException: make it an ordinary error
        raise ValueError(str(exc)) from None


def investor_documents(data: ReportData) -> dict[str, bytes]:
    """The report documents of a package: HTML and the same content as PDF."""
    html = render_html(data)
    return {"investor_report.html": html.encode("utf-8"), "investor_report.pdf": render_pdf(html)}


# ------------------------------------------------------------------ pdf helpers


def _drop_dates(_document: Any, pdf: Any) -> None:
    for key in ("CreationDate", "ModDate"):
        pdf.info.pop(key, None)


def _refusing_fetcher() -> Any:
    """A URL fetcher that refuses every URL: the report must not depend on
    anything outside it, so a stray reference fails the render."""
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    class RefusingFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            raise FatalURLFetchingError(f"the investor report must be self-contained: {url}")

    return RefusingFetcher()


# ------------------------------------------------------------------ context


def report_context(data: ReportData, page_size: str = "A4") -> dict[str, Any]:
    """Everything the template reads (the template uses nothing else)."""
    parts = [
        Part(
            anchor="pool-performance",
            title="Pool performance",
            sections=figure_sections(data.pool_figures, POOL_FRAME, "pool"),
        )
    ]
    if data.borrowing_base is not None:
        parts.append(
            Part(
                anchor="borrowing-base",
                title="Borrowing base certificate",
                certificate=certificate_lines(data.borrowing_base),
            )
        )
    if data.waterfall_figures is not None and data.waterfall_figures.height:
        waterfall_title = "Notes and waterfall" if data.vehicle_kind == "trust" else "Waterfall"
        parts.append(
            Part(
                anchor="waterfall",
                title=waterfall_title,
                sections=figure_sections(data.waterfall_figures, WATERFALL_FRAME, "wf"),
            )
        )
    period = data.period_end
    return {
        "page_size": PAGE_SIZES[page_size],
        "header": {
            "vehicle_id": data.vehicle_id,
            "vehicle_name": data.vehicle_name,
            "vehicle_kind": KIND_LABELS[data.vehicle_kind],
            "period_label": f"{MONTH_NAMES[period.month - 1]} {period.year}",
            "period_end": f"{period.day} {MONTH_NAMES[period.month - 1]} {period.year}",
            "period_iso": period.isoformat(),
            "version": f"v{data.version}",
            "restates": data.restates,
            "restatement_reason": data.restatement_reason,
            "data_sha256": data.data_sha256,
        },
        "parts": parts,
        "sources": [
            "pool_performance.parquet",
            *(["borrowing_base.parquet"] if data.borrowing_base is not None else []),
            *(["waterfall.parquet"] if any(p.anchor == "waterfall" for p in parts) else []),
            *(["projections.parquet"] if data.projections is not None else []),
        ],
        "projections": projections_view(data.projections),
    }


def figure_sections(frame: pl.DataFrame, frame_name: str, prefix: str) -> tuple[Section, ...]:
    """The sections of a figure frame in section_order, each as tables (and a chart)."""
    if frame.height == 0:
        return ()
    ordered = frame.sort("section_order", "section", "row_order", "column_order", nulls_last=True)
    sections = []
    anchors: set[str] = set()
    for (key,), part in ordered.group_by("section", maintain_order=True):
        key = key or ""
        anchor = _anchor(prefix, key, anchors)
        title = next((t for t in part["title"].to_list() if t), key.replace("_", " ").capitalize())
        sections.append(
            Section(
                key=key,
                anchor=anchor,
                title=title,
                frame=frame_name,
                tables=_tables(key, part),
                charts=_charts(key, part),
            )
        )
    return tuple(sections)


def _anchor(prefix: str, key: str, taken: set[str]) -> str:
    base = f"{prefix}-" + (re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-") or "section")
    anchor, n = base, 1
    while anchor in taken:
        n += 1
        anchor = f"{base}-{n}"
    taken.add(anchor)
    return anchor


def _ordered_labels(part: pl.DataFrame, label: str, order: str) -> list[str]:
    pairs = part.select(pl.col(label).fill_null(""), order).unique()
    first = pairs.group_by(label).agg(pl.col(order).min()).sort(order, label, nulls_last=True)
    return first[label].to_list()


def _tables(key: str, part: pl.DataFrame) -> tuple[Table, ...]:
    rows = _ordered_labels(part, "row", "row_order")
    columns = _ordered_labels(part, "column", "column_order")
    cells: dict[tuple[str, str], Cell] = {}
    for figure in part.iter_rows(named=True):
        cell = _cell(key, figure)
        cells[(cell.row, cell.column)] = cell
    units = {c: {cell.unit for (_, col), cell in cells.items() if col == c} for c in columns}
    n = len(columns)
    width = "wide" if n > 6 else "full" if n >= 4 else "medium" if n >= 2 else "narrow"
    chunks = max(1, -(-n // MAX_TABLE_COLUMNS))
    size = max(1, -(-n // chunks))  # split evenly: 18 columns as 9 + 9, not 12 + 6
    tables = []
    for start in range(0, n, size):
        chunk = columns[start : start + size]
        tables.append(
            Table(
                columns=tuple(
                    Column(c, bool(units[c]) and "text" not in units[c], header_title(c, units[c]))
                    for c in chunk
                ),
                rows=tuple(Row(r, tuple(cells.get((r, c)) for c in chunk)) for r in rows),
                classes=f"figures {width}",
            )
        )
    return tuple(tables)


def header_title(label: str, units: set[str]) -> str:
    """A column's header: its label and the unit of its figures, "Balance ($)",
    "% of balance" (already says it), "Value ($ or %)" for a mixed column."""
    marks = [UNIT_SUFFIXES[u] for u in ("usd", "ratio") if u in units]
    if not marks or (marks == ["%"] and "%" in label):
        return label
    return f"{label} ({' or '.join(marks)})"


def _cell(key: str, figure: dict[str, Any]) -> Cell:
    unit = figure["unit"]
    text = format_value(unit, figure["amount"], figure["ratio"], figure["count"], figure["text"])
    classes = ["txt" if unit == "text" else "num", unit]
    value = {"usd": figure["amount"], "ratio": figure["ratio"], "count": figure["count"]}.get(unit)
    if value is not None and value < 0 and text.startswith("-"):
        classes.append("neg")
    if unit == "text" and text.strip().lower() in STATUS_CLASSES:
        classes.append(STATUS_CLASSES[text.strip().lower()])
    return Cell(
        section=key,
        row=figure["row"] or "",
        column=figure["column"] or "",
        unit=unit,
        text=text,
        classes=" ".join(classes),
    )


# ------------------------------------------------------------------ charts


def _float(value: Decimal | int | None) -> float | None:
    return None if value is None else float(value)


def _charts(key: str, part: pl.DataFrame) -> tuple[Chart, ...]:
    if key == "trend":
        return _trend_charts(part)
    if key == "delinquency":
        chart = _delinquency_chart(part)
        return () if chart is None else (Chart("Delinquent receivables by bucket ($)", chart),)
    if key == "vintage":
        chart = _vintage_chart(part)
        return () if chart is None else (Chart(charts.VINTAGE_CAPTION, chart),)
    return ()


def _grid(part: pl.DataFrame, unit: str) -> tuple[list[str], list[str], dict]:
    """Row labels, column labels (of `unit` figures) and values by (row, column)."""
    of_unit = part.filter(pl.col("unit") == unit)
    value_column = {"usd": "amount", "ratio": "ratio", "count": "count"}[unit]
    values = {
        (f["row"] or "", f["column"] or ""): _float(f[value_column])
        for f in of_unit.iter_rows(named=True)
    }
    return (
        _ordered_labels(part, "row", "row_order"),
        _ordered_labels(of_unit, "column", "column_order") if of_unit.height else [],
        values,
    )


def _trend_charts(part: pl.DataFrame) -> tuple[Chart, ...]:
    """The trend in two charts by scale (payment rate and yield apart from
    losses and delinquency), over the months the table has; legends are the
    table's column labels."""
    periods, columns, values = _grid(part, "ratio")
    if not columns:
        return ()
    series = [(c, [values.get((p, c)) for p in periods]) for c in columns]
    span = f"{len(periods)} of {TREND_MONTHS} months"
    return tuple(
        Chart(f"{charts.group_caption(group)}, {span}", charts.trend_chart(periods, group))
        for group in charts.split_by_scale(series)
    )


def _delinquency_chart(part: pl.DataFrame) -> Markup | None:
    buckets, columns, values = _grid(part, "usd")
    if not columns:
        return None
    column = "Amount" if "Amount" in columns else columns[0]
    delinquent = [b for b in buckets if b not in NOT_DELINQUENT]
    return charts.delinquency_chart([(b, values.get((b, column))) for b in delinquent])


def _vintage_chart(part: pl.DataFrame) -> Markup | None:
    vintages, columns, values = _grid(part, "ratio")
    if not columns:
        return None
    positions = [
        float(c.strip()) if c.strip().isdigit() else float(i)
        for i, c in enumerate(columns, start=1)
    ]
    if len(set(positions)) != len(positions):  # not all digits: fall back to column order
        positions = [float(i) for i in range(1, len(columns) + 1)]
    return charts.vintage_chart(
        positions, [(v, [values.get((v, c)) for c in columns]) for v in vintages]
    )


# ------------------------------------------------------------------ certificate

ACRONYMS = {"fico", "apr", "dpd", "bps", "ltv", "dti", "us"}


def _limit_name(code: str) -> str:
    """'FICO_BELOW' as 'FICO below', 'MONTHS_ON_BOOK_BELOW' as 'months on book below'."""
    words = [w.upper() if w.lower() in ACRONYMS else w.lower() for w in code.split("_") if w]
    return " ".join(words) or "limit"


def certificate_lines(certificate: pl.DataFrame) -> tuple[CertificateLine, ...]:
    """The certificate's lines in line_no order, each figure printed like a figure cell."""
    lines = []
    for line in certificate.sort("line_no").iter_rows(named=True):
        code = line["line"] or ""
        bucket = line["bucket"] or ""
        is_limit = code not in CERTIFICATE_LABELS
        label = CERTIFICATE_LABELS.get(code) or "Concentration: " + _limit_name(code)
        pct = line["pct"]
        cells = (
            ("pct", format_value("ratio", None, None if pct is None else pct / 100, None, None)),
            ("bucket_amount", format_value("usd", line["bucket_amount"], None, None, None)),
            ("limit_amount", format_value("usd", line["limit_amount"], None, None, None)),
            ("amount", format_value("usd", line["amount"], None, None, None)),
        )
        classes = ["limit" if is_limit else "line"]
        if code in CERTIFICATE_TOTALS:
            classes.append("total")
        if code == "deficiency" and line["amount"] is not None and line["amount"] > 0:
            classes.append("alert")
        lines.append(
            CertificateLine(
                line_no=int(line["line_no"]),
                code=code,
                label=label,
                bucket=bucket,
                cells=cells,
                classes=" ".join(classes),
            )
        )
    return tuple(lines)
