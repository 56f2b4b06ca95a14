"""The report's "Trigger headroom and projections" section: every number it
prints equals a figure of the published `projections.parquet`, it shows the
first breach, the amortization start and the minimum availability of each
scenario, and it renders into the PDF."""

from __future__ import annotations

import io
import subprocess
from decimal import Decimal
from html.parser import HTMLParser

import polars as pl
import pytest

from funding.projections.table import format_projection
from funding.projections.vehicle import project_vehicle
from funding.storage.lake import parquet_bytes
from funding.structure.rates import parse_fixings
from reports import render_html, render_pdf
from tests.funding.projections.builders import warehouse, warehouse_start
from tests.reports.test_report import report_data

FIXINGS = parse_fixings("index,fixing_date,rate_bps\nSOFR30A,2025-03-01,430\n")
STRESS = {
    "name": "stress",
    "payment_rate": [0.20, 0.02, 0.20],
    "purchase_rate": [0.25, 0, 0.25],
    "gross_chargeoff_rate": [0.06, 0.60, 0.06],
}
BASE = {
    "name": "base",
    "payment_rate": 0.20,
    "purchase_rate": 0.25,
    "portfolio_yield": 0.24,
    "gross_chargeoff_rate": 0.06,
    "recovery_rate": 0.10,
    "delinquency_60_plus": 0.02,
}


def published_projections() -> pl.DataFrame:
    """A warehouse's projections as published: written to Parquet and read back."""
    config = warehouse(projections={"horizon_months": 6, "scenarios": [BASE, {**BASE, **STRESS}]})
    frame = project_vehicle(config, warehouse_start(config), FIXINGS).table
    return pl.read_parquet(io.BytesIO(parquet_bytes(frame)))


class ProjectionCells(HTMLParser):
    """(scenario, month, measure, format) -> printed text of every projections cell."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[tuple[str, str, str, str], str]] = []
        self._open: tuple[str, str, str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("data-frame") == "projections":
            assert tag == "td"
            self._open = (a["data-scenario"], a["data-month"], a["data-measure"], a["data-format"])
            self._text = []

    def handle_endtag(self, tag):
        if tag == "td" and self._open:
            self.cells.append((self._open, "".join(self._text)))
            self._open = None

    def handle_data(self, data):
        if self._open:
            self._text.append(data)


def projection_cells(html: str) -> list[tuple[tuple[str, str, str, str], str]]:
    parser = ProjectionCells()
    parser.feed(html)
    parser.close()
    return parser.cells


def expected_text(frame: pl.DataFrame, key: tuple[str, str, str, str]) -> str:
    scenario, month, measure, kind = key
    match = frame.filter(
        (pl.col("scenario") == scenario)
        & (pl.col("month") == month)
        & (pl.col("measure") == measure)
    )
    assert match.height == 1, key
    return format_projection(kind, measure, month, match["value"][0])


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return published_projections()


@pytest.fixture(scope="module")
def html(frame) -> str:
    return render_html(report_data(vehicle_kind="warehouse", projections=frame))


def test_every_projection_number_the_report_prints_is_a_figure_of_projections_parquet(frame, html):
    cells = projection_cells(html)
    assert len(cells) > 30
    for key, text in cells:
        assert text == expected_text(frame, key), key


def test_the_headroom_table_shows_breach_amortization_and_availability(frame, html):
    printed = {(s, measure): text for (s, _, measure, _), text in projection_cells(html)}
    # the stress's May loss spike leaves a deficiency after the cure (test_engine works it out)
    assert printed[("stress", "summary.trigger.bb_deficiency.first_breach")] == "2025-05 (month 2)"
    assert printed[("stress", "summary.amortization.start")] == "2025-06 (month 3)"
    assert printed[("base", "summary.horizon_months")] == "none within 6 months"
    # the base's smallest availability is its first month's: 3,442,500 cents (test_engine)
    availability = "summary.borrowing_base.minimum_availability_cents"
    assert printed[("base", availability)] == "34,425.00 in 2025-04"
    assert printed[("base", "trigger.delinquency_60_3m.threshold")] == "8.00%"
    assert printed[("base", "assumption.payment_rate")] == "20.00%"
    assert printed[("base", "assumption.fixing.SOFR30A_bps")] == "430 bps"


def test_the_section_follows_the_waterfall_has_a_chart_and_names_its_source(html):
    assert html.index('id="waterfall"') < html.index('id="projections"')
    assert '<a href="#projections">Trigger headroom and projections</a>' in html
    section = html[html.index('id="projections"') :]
    assert section.count("<svg") == 1 and "bb_deficiency: projected value" in section
    assert "<code>projections.parquet</code>" in html


def test_a_report_without_projections_has_no_such_section():
    html = render_html(report_data())
    assert 'id="projections"' not in html and "projections.parquet" not in html


def test_the_section_renders_into_the_pdf(html, tmp_path):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render_pdf(html))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Trigger headroom and projections" in text
    assert "2025-05 (month 2)" in text and "none within 6 months" in text


def test_report_data_refuses_a_projections_table_without_its_columns():
    with pytest.raises(ValueError, match="projections lacks columns"):
        report_data(projections=pl.DataFrame({"scenario": ["base"]}))


def test_format_projection_prints_each_unit():
    assert format_projection("amount", "notes.balance_cents", "2025-04", Decimal(123456)) == (
        "1,234.56"
    )
    assert format_projection("amount", "trigger.x.value", "2025-04", Decimal("0.0812")) == "8.12%"
    assert format_projection("month", "summary.notes.paid_off", "2026-02", Decimal(11)) == (
        "2026-02 (month 11)"
    )
    with pytest.raises(ValueError, match="unknown projection format"):
        format_projection("colour", "notes.balance_cents", "2025-04", Decimal(1))


def test_a_vehicle_already_amortizing_says_so_rather_than_a_start_month():
    from dataclasses import replace

    config = warehouse(projections={"horizon_months": 3, "scenarios": [BASE]})
    start = warehouse_start(config)
    start = replace(start, state=replace(start.state, status="early_amortization"))
    frame = project_vehicle(config, start, FIXINGS).table
    html = render_html(report_data(vehicle_kind="warehouse", projections=frame))
    printed = {measure: text for (_, _, measure, _), text in projection_cells(html)}
    assert printed["status.amortizing"] == "already at 2025-03"
    for key, text in projection_cells(html):
        assert text == expected_text(frame, key), key
