"""Investor report: every printed figure equals its published Parquet figure,
the HTML is self-contained and escaped, the PDF is byte-deterministic, and
both render to pages that are not blank (headless Chromium, pdftoppm)."""

from __future__ import annotations

import io
import math
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from datetime import date
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest
from jinja2 import UndefinedError
from PIL import Image

from funding.outputs.figures.frame import FIGURE_SCHEMA, combine, format_value, section_frame
from reports import ReportData, environment, render_html, render_pdf
from reports.render import TEMPLATE
from tests.support import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
VEHICLE_NAME = "Demo Master Trust 2025-1"
PERIODS = [
    f"{y}-{m:02d}" for y, m in [(2024, m) for m in range(3, 13)] + [(2025, 1), (2025, 2), (2025, 3)]
]
BUCKETS = [
    "Current",
    "1–29 days",
    "30–59 days",
    "60–89 days",
    "90–119 days",
    "120–149 days",
    "150–179 days",
]
VINTAGES = ["2023-Q1", "2023-Q2", "2023-Q3", "2023-Q4", "2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]
SHA = "3f5a0c1e9b7d2a4c6e8f0a1b3c5d7e9f1a2b3c4d5e6f708192a3b4c5d6e7f809"


# ------------------------------------------------------------------ fake package frames


def _trend_table(periods: list[str]) -> pl.DataFrame:
    n = len(periods)
    payment = [Decimal("0.185") + Decimal((i * 7) % 23) / 1000 for i in range(n)]
    nco = [Decimal("0.052") + Decimal((i * 5) % 17) / 1000 for i in range(n)]
    yield_ = [Decimal("0.2105") + Decimal((i * 3) % 9) / 1000 for i in range(n)]
    dq60 = [Decimal("0.0217") + Decimal((i * 2) % 7) / 1000 for i in range(n)]

    def avg3(values: list) -> list[str]:
        return [
            str(sum(values[max(0, i - 2) : i + 1]) / len(values[max(0, i - 2) : i + 1]))
            for i in range(len(values))
        ]

    as_text = lambda values: [str(v) for v in values]  # noqa: E731
    nco_text: list[str | None] = as_text(nco)
    if n > 4:
        nco_text[4] = None  # a month without the ratio: the line breaks, the cell is empty
    return pl.DataFrame(
        {
            "period_end": periods,
            "payment_rate": as_text(payment),
            "net_chargeoff_rate": nco_text,
            "portfolio_yield": as_text(yield_),
            "delinquency_60_plus": as_text(dq60),
            "payment_rate_3m_avg": avg3(payment),
            "delinquency_60_plus_3m_avg": avg3(dq60),
        },
        schema_overrides={"net_chargeoff_rate": pl.String},
    )


TREND_COLUMNS = {
    "payment_rate": ("Monthly payment rate", "ratio"),
    "net_chargeoff_rate": ("Net charge-off rate (annualised)", "ratio"),
    "portfolio_yield": ("Portfolio yield (annualised)", "ratio"),
    "delinquency_60_plus": ("60+ day delinquency", "ratio"),
    "payment_rate_3m_avg": ("Monthly payment rate, 3-month average", "ratio"),
    "delinquency_60_plus_3m_avg": ("60+ day delinquency, 3-month average", "ratio"),
}


def _vintage_table(months: int = 18) -> pl.DataFrame:
    """Cumulative loss curves: concave, later vintages observed for fewer months."""
    data: dict[str, list] = {"vintage": VINTAGES}
    for m in range(1, months + 1):
        column = []
        for i in range(len(VINTAGES)):
            observed = (len(VINTAGES) - i) * 3 - 1
            level = 0.045 + 0.006 * ((i * 5) % 7)
            value = level * (1 - math.exp(-m / 9))
            column.append(None if m > observed else f"{value:.6f}")
        data[f"m{m}"] = column
    return pl.DataFrame(data, schema_overrides={f"m{m}": pl.String for m in range(1, months + 1)})


def pool_frame(periods: list[str] = PERIODS) -> pl.DataFrame:
    rows = lambda pairs, value="value": pl.DataFrame(  # noqa: E731
        {"row": [p[0] for p in pairs], value: [p[1] for p in pairs]}
    )
    return combine(
        [
            section_frame(
                "pool",
                1,
                "Pool summary",
                rows([("Accounts in pool", 48_213), ("Accounts with a balance", 41_977)]),
                "row",
                {"value": ("Count", "count")},
            ),
            section_frame(
                "rollforward",
                2,
                "Pool roll-forward",
                # reductions negative, as the package publishes them: each row foots
                pl.DataFrame(
                    {
                        "receivable": ["Principal", "Finance charges", "Fees"],
                        "begin": [152_345_678_90, 3_456_789_01, 234_567_89],
                        "additions": [4_500_000_00, 0, 0],
                        "removals": [-1_200_000_00, -12_345_67, 0],
                        "billed": [18_765_432_10, 2_345_678_90, 123_456_78],
                        "collections": [-21_456_879_68, -2_123_456_78, -98_765_43],
                        "chargeoffs": [-812_345_67, -45_678_90, -3_457_78],
                        "end": [152_141_885_65, 3_620_986_56, 255_801_46],
                    }
                ),
                "receivable",
                {
                    "begin": ("Beginning", "usd"),
                    "additions": ("Additions", "usd"),
                    "removals": ("Removals", "usd"),
                    "billed": ("Purchases / billed", "usd"),
                    "collections": ("Collections", "usd"),
                    "chargeoffs": ("Charge-offs", "usd"),
                    "end": ("Ending", "usd"),
                },
            ),
            section_frame(
                "collections",
                3,
                "Collections and losses",
                rows(
                    [
                        ("Principal collections", 21_456_789_01),
                        ("Finance charge collections", 2_222_222_21),
                        ("Recoveries", 123_456_78),
                        ("Net charge-offs", 688_888_89),
                    ]
                ),
                "row",
                {"value": ("Amount", "usd")},
            ),
            section_frame(
                "ratios",
                4,
                "Headline ratios",
                pl.DataFrame(
                    {
                        "ratio": [
                            "Monthly payment rate",
                            "Net charge-off rate (annualised)",
                            "60+ day delinquency",
                        ],
                        "value": ["0.1923456789", "0.0541234567891234", "0.0234"],
                        "average": ["0.1899", None, "0.0229"],
                    }
                ),
                "ratio",
                {"value": ("This period", "ratio"), "average": ("3-month average", "ratio")},
            ),
            section_frame(
                "trend", 5, "13-month trend", _trend_table(periods), "period_end", TREND_COLUMNS
            ),
            section_frame(
                "delinquency",
                6,
                "Delinquency",
                pl.DataFrame(
                    {
                        "bucket": BUCKETS,
                        "amount": [
                            140_123_456_78,
                            6_543_210_98,
                            2_345_678_90,
                            1_234_567_89,
                            876_543_21,
                            543_210_98,
                            321_098_76,
                        ],
                        "accounts": [44_100, 2_012, 811, 455, 301, 190, 98],
                        "pct": [
                            "0.9021",
                            "0.0421",
                            "0.0151",
                            "0.0079",
                            "0.0056",
                            "0.0035",
                            "0.0021",
                        ],
                    }
                ),
                "bucket",
                {
                    "amount": ("Amount", "usd"),
                    "accounts": ("Accounts", "count"),
                    "pct": ("% of receivables", "ratio"),
                },
            ),
            section_frame(
                "stratification_fico",
                10,
                "Stratification by FICO <at origination> & band",
                pl.DataFrame(
                    {
                        "band": ["< 600", "600-659", "660-719", "720+"],
                        "accounts": [1_203, 9_876, 20_111, 17_023],
                        "pct_accounts": ["0.025", "0.2048", "0.4171", "0.3531"],
                        "balance": [3_456_789_00, 31_234_567_89, 70_123_456_78, 47_327_071_98],
                    }
                ),
                "band",
                {
                    "accounts": ("Accounts", "count"),
                    "pct_accounts": ("% of accounts", "ratio"),
                    "balance": ("Balance", "usd"),
                },
            ),
            section_frame(
                "vintage",
                40,
                "Vintage cumulative net charge-offs (% of original credit limit)",
                _vintage_table(),
                "vintage",
                {f"m{m}": (str(m), "ratio") for m in range(1, 19)},
            ),
            section_frame(
                "data_quality",
                90,
                "Data quality summary",
                pl.DataFrame(
                    {
                        "check": [
                            "Accounts without a state",
                            "Negative balances",
                            "Tape row count matches pool",
                        ],
                        "severity": ["warn", "error", "error"],
                        "result": ["pass", "FAIL", "pass"],
                        "observed": ["0.0004", "0.00002", "1"],
                        "note": ["<none>", "2 accounts & 1 reversal", ""],
                    }
                ),
                "check",
                {
                    "severity": ("Severity", "text"),
                    "result": ("Result", "text"),
                    "observed": ("Observed", "ratio"),
                    "note": ("Note", "text"),
                },
            ),
        ]
    )


def waterfall_frame() -> pl.DataFrame:
    return combine(
        [
            section_frame(
                "notes",
                101,
                "Notes",
                pl.DataFrame(
                    {
                        "class": ["Class A", "Class B"],
                        "begin": [100_000_000_00, 12_500_000_00],
                        "principal": [-2_500_000_00, 0],
                        "end": [97_500_000_00, 12_500_000_00],
                        "interest": [412_345_67, 61_234_56],
                        "interest_per_1000": [4_12, 4_90],
                    }
                ),
                "class",
                {
                    "begin": ("Beginning balance", "usd"),
                    "principal": ("Principal paid", "usd"),
                    "end": ("Ending balance", "usd"),
                    "interest": ("Interest paid", "usd"),
                    "interest_per_1000": ("Interest per $1,000 original", "usd"),
                },
            ),
            section_frame(
                "reserve",
                102,
                "Reserve account",
                pl.DataFrame(
                    {
                        "row": [
                            "Beginning balance",
                            "Release of excess over target to interest funds",
                            "Draws to cover shortfalls",
                            "Deposits",
                            "Ending balance",
                            "Required amount (target)",
                        ],
                        "value": [1_000_00, -310_00, 0, 0, 690_00, 690_00],
                    }
                ),
                "row",
                {"value": ("Amount", "usd")},
            ),
            section_frame(
                "statement_interest",
                104,
                "Interest waterfall (application of finance charge collections)",
                pl.DataFrame(
                    {
                        "line": [
                            "Servicing fee",
                            "Class A interest",
                            "Class B interest",
                            "Reserve account deposit",
                            "Excess spread released to the seller",
                        ],
                        "due": [125_000_00, 412_345_67, 61_234_56, 0, None],
                        "paid": [125_000_00, 412_345_67, 61_234_56, 0, 1_543_210_99],
                        "shortfall": [0, 0, 0, 0, 0],
                        "available_after": [
                            2_016_791_22,
                            1_604_445_55,
                            1_543_210_99,
                            1_543_210_99,
                            -1_00,
                        ],
                    }
                ),
                "line",
                {
                    "due": ("Due", "usd"),
                    "paid": ("Paid", "usd"),
                    "shortfall": ("Unpaid", "usd"),
                    "available_after": ("Funds left after the step", "usd"),
                },
            ),
            combine(
                [
                    section_frame(
                        "triggers",
                        105,
                        "Trigger tests",
                        pl.DataFrame(
                            {
                                "name": ["60+ day delinquency", "3-month average excess spread"],
                                "value": ["0.0231", None],
                                "threshold": ["0.08", "0.02"],
                                "result": ["Pass", "n/a (needs 3 months)"],
                            }
                        ),
                        "name",
                        {
                            "value": ("Value", "ratio"),
                            "threshold": ("Threshold", "ratio"),
                            "result": ("Result", "text"),
                        },
                        missing={"value": "n/a (needs 3 months)"},
                    ),
                    section_frame(
                        "triggers",
                        105,
                        "Trigger tests",
                        pl.DataFrame(
                            {
                                "name": ["Borrowing base deficiency ($)"],
                                "value": [2_179_361],
                                "threshold": [0],
                                "result": ["BREACHED"],
                            }
                        ),
                        "name",
                        {
                            "value": ("Value", "usd"),
                            "threshold": ("Threshold", "usd"),
                            "result": ("Result", "text"),
                        },
                    ).with_columns(pl.col("row_order") + 2),
                ]
            ),
        ]
    )


def certificate_frame() -> pl.DataFrame:
    d = Decimal
    lines = [
        ("pool_principal", "", None, None, None, d("152141885.65")),
        ("ineligible_principal", "", None, None, None, d("3456789.01")),
        ("eligible_balance", "", None, None, None, d("148685096.64")),
        ("FICO_BELOW", "", d("25.00"), d("40123456.78"), d("37171274.16"), d("2952182.62")),
        ("SINGLE_STATE", "CA", d("10.00"), d("16012345.67"), d("14868509.66"), d("1143836.01")),
        ("SINGLE_STATE", "TX", d("10.00"), d("9012345.67"), d("14868509.66"), d("0.00")),
        ("excess_concentration", "", None, None, None, d("4096018.63")),
        ("net_eligible_balance", "", None, None, None, d("144589078.01")),
        ("advance_amount", "", d("85.00"), None, None, d("122900716.31")),
        ("commitment", "", None, None, None, d("180000000.00")),
        ("borrowing_base", "", None, None, None, d("122900716.31")),
        ("advances_outstanding", "", None, None, None, d("118000000.00")),
        ("availability", "", None, None, None, d("4900716.31")),
        ("deficiency", "", None, None, None, d("0.00")),
    ]
    return pl.DataFrame(
        [(i, *line) for i, line in enumerate(lines, start=1)],
        schema={
            "line_no": pl.Int64,
            "line": pl.String,
            "bucket": pl.String,
            "pct": pl.Decimal(38, 2),
            "bucket_amount": pl.Decimal(18, 2),
            "limit_amount": pl.Decimal(18, 2),
            "amount": pl.Decimal(18, 2),
        },
        orient="row",
    )


def published(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame as a reader of the package sees it: through Parquet bytes."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    buffer.seek(0)
    return pl.read_parquet(buffer)


def report_data(**overrides) -> ReportData:
    values = dict(
        vehicle_id="trust1",
        vehicle_name=VEHICLE_NAME,
        vehicle_kind="trust",
        period_end=date(2025, 3, 31),
        version=2,
        restates="v1",
        restatement_reason="Late-posted March recoveries corrected in the ledger",
        data_sha256=SHA,
        pool_figures=published(pool_frame()),
        waterfall_figures=published(waterfall_frame()),
        borrowing_base=published(certificate_frame()),
    )
    values.update(overrides)
    return ReportData(**values)


@pytest.fixture(scope="module")
def data() -> ReportData:
    return report_data()


@pytest.fixture(scope="module")
def html(data) -> str:
    return render_html(data)


@pytest.fixture(scope="module")
def pdf(html) -> bytes:
    return render_pdf(html)


# ------------------------------------------------------------------ html parsing


class Cells(HTMLParser):
    """Figure cells (data-section), certificate cells, and every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: list[tuple[tuple[str, str, str, str], str]] = []
        self.certificate: list[tuple[tuple[int, str], str]] = []
        self.urls: list[tuple[str, str, str]] = []
        self.data_attrs_in_svg = 0
        self._open: tuple[str, tuple] | None = None
        self._text: list[str] = []
        self._svg_depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name in ("src", "href", "xlink:href", "action", "poster", "srcset"):
            if name in a:
                self.urls.append((tag, name, a[name] or ""))
        if tag == "svg":
            self._svg_depth += 1
        if self._svg_depth and any(k.startswith("data-") for k in a):
            self.data_attrs_in_svg += 1
        if "data-section" in a:
            assert tag == "td" and self._open is None
            key = (a["data-frame"], a["data-section"], a["data-row"], a["data-column"])
            self._open, self._text = ("figure", key), []
        elif "data-certificate-line" in a:
            assert tag == "td" and self._open is None
            key = (int(a["data-certificate-line"]), a["data-field"])
            self._open, self._text = ("certificate", key), []

    def handle_endtag(self, tag):
        if tag == "svg":
            self._svg_depth -= 1
        if tag == "td" and self._open:
            kind, key = self._open
            (self.figures if kind == "figure" else self.certificate).append(
                (key, "".join(self._text))
            )
            self._open = None

    def handle_data(self, data):
        if self._open:
            self._text.append(data)


def parse(html: str) -> Cells:
    parser = Cells()
    parser.feed(html)
    parser.close()
    return parser


def expected_figures(frame: pl.DataFrame, frame_name: str) -> dict[tuple[str, str, str, str], str]:
    return {
        (frame_name, f["section"], f["row"] or "", f["column"] or ""): format_value(
            f["unit"], f["amount"], f["ratio"], f["count"], f["text"]
        )
        for f in frame.iter_rows(named=True)
    }


# ------------------------------------------------------------------ (a) figures


def test_every_published_figure_appears_exactly_once_with_its_text(data, html):
    expected = expected_figures(data.pool_figures, "pool_performance") | expected_figures(
        data.waterfall_figures, "waterfall"
    )
    assert len(expected) == data.pool_figures.height + data.waterfall_figures.height
    cells = parse(html).figures
    counts = Counter(key for key, _ in cells)
    assert [key for key, n in counts.items() if n > 1] == []
    assert set(counts) == set(expected)
    assert dict(cells) == expected


def test_certificate_lines_are_printed_from_the_certificate(data, html):
    printed = dict(parse(html).certificate)
    expected = {}
    for line in data.borrowing_base.iter_rows(named=True):
        pct = line["pct"]
        expected[(line["line_no"], "pct")] = format_value(
            "ratio", None, pct and pct / 100, None, None
        )
        for field in ("bucket_amount", "limit_amount", "amount"):
            expected[(line["line_no"], field)] = format_value("usd", line[field], None, None, None)
    assert printed == expected
    assert printed[(9, "pct")] == "85.00%"
    assert printed[(11, "amount")] == "122,900,716.31"


def test_sections_follow_section_order_and_parts_follow_the_layout(data, html):
    cells = parse(html).figures
    order = list(dict.fromkeys(section for (_, section, _, _), _ in cells))
    assert order == [
        "pool", "rollforward", "collections", "ratios", "trend", "delinquency",
        "stratification_fico", "vintage", "data_quality", "notes", "reserve",
        "statement_interest", "triggers",
    ]  # fmt: skip
    assert html.index('data-section="data_quality"') < html.index('id="borrowing-base"')
    assert html.index('id="borrowing-base"') < html.index('data-section="notes"')
    # rows by row_order, columns by column_order inside a section
    trend = [(row, column) for (_, s, row, column), _ in cells if s == "trend"]
    assert [r for r, _ in trend[:: len(TREND_COLUMNS)]] == PERIODS
    assert [c for _, c in trend[: len(TREND_COLUMNS)]] == [
        label for label, _ in TREND_COLUMNS.values()
    ]


def test_header_names_vehicle_period_version_restatement_and_fingerprint(html):
    assert VEHICLE_NAME in html and "trust1" in html
    assert "31 March 2025" in html and "March 2025" in html
    assert "restates and supersedes v1" in html
    assert "Late-posted March recoveries corrected in the ledger" in html
    assert SHA in html
    first = render_html(report_data(version=1, restates=None, restatement_reason=None))
    assert "supersedes" not in first and "v1" in first


def test_rendering_is_deterministic(data, html):
    assert render_html(report_data()) == html


def test_missing_parts_and_sections_are_absent():
    pool_only = published(pool_frame().filter(pl.col("section").is_in(["pool", "collections"])))
    html = render_html(
        report_data(
            pool_figures=pool_only,
            waterfall_figures=None,
            borrowing_base=None,
            vehicle_kind="portfolio",
        )
    )
    assert "<svg" not in html
    assert 'id="borrowing-base"' not in html and 'id="waterfall"' not in html
    assert {s for (_, s, _, _), _ in parse(html).figures} == {"pool", "collections"}
    empty = render_html(
        report_data(
            pool_figures=pl.DataFrame(schema=FIGURE_SCHEMA),
            waterfall_figures=None,
            borrowing_base=None,
        )
    )
    assert parse(empty).figures == []


# ------------------------------------------------------------------ charts


TREND_HIGH = "Headline ratios, monthly trend: Monthly payment rate and portfolio yield (annualised)"
TREND_LOW = (
    "Headline ratios, monthly trend: Net charge-off rate (annualised) and 60+ day delinquency"
)


def test_four_charts_are_inline_svg_without_figure_attributes(html):
    assert html.count("<svg") == 4
    assert f'aria-label="{TREND_HIGH}"' in html
    assert f'aria-label="{TREND_LOW}"' in html
    assert 'aria-label="Delinquency by bucket"' in html
    assert 'aria-label="Vintage cumulative net charge-offs by months on book"' in html
    assert parse(html).data_attrs_in_svg == 0
    assert "<script" not in html.lower()


def _svgs(html: str) -> dict[str, str]:
    """Each chart's SVG by its aria-label."""
    out = {}
    for piece in html.split("<svg")[1:]:
        label = piece.split('aria-label="', 1)[1].split('"', 1)[0]
        out[label] = piece.split("</svg>", 1)[0]
    return out


def _text_elements(svg: str, anchor: str | None = None) -> list[tuple[str, str]]:
    """(x, text) of an SVG's text elements (with `text-anchor=anchor` if given)."""
    out = []
    for piece in svg.split("<text ")[1:]:
        attrs, rest = piece.split(">", 1)
        if anchor is None or f'text-anchor="{anchor}"' in attrs:
            out.append((attrs.split('x="', 1)[1].split('"', 1)[0], rest.split("</text>", 1)[0]))
    return out


def _texts(svg: str, anchor: str | None = None) -> list[str]:
    return [text for _, text in _text_elements(svg, anchor)]


def _x_ticks(svg: str) -> list[str]:
    """Axis tick labels under the plot, lines of one tick joined (Mar / 2025)."""
    ticks: dict[str, list[str]] = {}
    for x, text in _text_elements(svg, "middle"):
        ticks.setdefault(x, []).append(text)
    return [" ".join(lines) for lines in ticks.values()]


@pytest.mark.parametrize(
    "periods",
    [PERIODS[-1:], PERIODS[-3:], PERIODS],
    ids=["one period", "three periods", "13 periods"],
)
def test_trend_is_split_by_scale_and_labels_its_span(periods):
    frame = published(
        section_frame(
            "trend", 5, "13-month trend", _trend_table(periods), "period_end", TREND_COLUMNS
        )
    )
    html = render_html(report_data(pool_figures=frame, waterfall_figures=None, borrowing_base=None))
    svgs = _svgs(html)
    assert set(svgs) == {TREND_HIGH, TREND_LOW}
    # rates near 20% apart from loss and delinquency rates near 2-7%
    high_legend = set(_texts(svgs[TREND_HIGH], "start"))
    low_legend = set(_texts(svgs[TREND_LOW], "start"))
    assert high_legend == {
        "Monthly payment rate",
        "Portfolio yield (annualised)",
        "Monthly payment rate, 3-month average",
    }
    assert low_legend == {
        "Net charge-off rate (annualised)",
        "60+ day delinquency",
        "60+ day delinquency, 3-month average",
    }
    # only the months that exist, and the span said in words
    assert html.count(f"{len(periods)} of 13 months") == 2
    assert len(_x_ticks(svgs[TREND_HIGH])) == len(periods)
    assert "<circle" in html  # a single period is still drawn, as markers
    for svg in svgs.values():
        assert "nan" not in svg.lower() and "inf" not in svg.lower()
    assert len(parse(html).figures) == len(periods) * len(TREND_COLUMNS)


def test_chart_legends_are_the_table_labels(html):
    svgs = _svgs(html)
    legends = set(_texts(svgs[TREND_HIGH], "start")) | set(_texts(svgs[TREND_LOW], "start"))
    assert legends == {label for label, _ in TREND_COLUMNS.values()}
    vintage = [s for label, s in svgs.items() if label.startswith("Vintage")][0]
    assert set(_texts(vintage, "start")) == set(VINTAGES)  # the table's rows
    captions = [c.split("</figcaption>")[0] for c in html.split("<figcaption>")[1:]]
    vintage_caption = next(c for c in captions if c.startswith("Cumulative net charge-offs"))
    assert "net of recoveries" in vintage_caption


def test_axis_ticks_never_repeat_a_label(html):
    for label, svg in _svgs(html).items():
        y_ticks = _texts(svg, "end")
        assert len(y_ticks) == len(set(y_ticks)) > 1, (label, y_ticks)
        if not label.startswith("Delinquency"):  # bars carry value labels, not ticks
            x_ticks = [t for t in _x_ticks(svg) if t != "Months on book"]
            assert len(x_ticks) == len(set(x_ticks)) > 1, (label, x_ticks)


def test_charts_with_only_nulls_say_there_is_no_data():
    nulls = (
        pool_frame()
        .filter(pl.col("section").is_in(["trend", "delinquency", "vintage"]))
        .with_columns(
            pl.lit(None, pl.Decimal(18, 2)).alias("amount"),
            pl.lit(None, pl.Decimal(38, 12)).alias("ratio"),
        )
    )
    html = render_html(
        report_data(pool_figures=published(nulls), waterfall_figures=None, borrowing_base=None)
    )
    assert html.count("No data for this period") == 3
    cells = parse(html).figures
    assert all(text == "" for (_, s, _, _), text in cells if s in ("trend", "vintage"))


# ------------------------------------------------------------------ (b) self-contained


def test_html_is_self_contained(html):
    lowered = html.lower()
    for needle in (
        "http://",
        "https://",
        "@import",
        "url(",
        "<link",
        "<script",
        "<img",
        "<iframe",
        "//cdn",
    ):
        assert needle not in lowered, needle
    urls = parse(html).urls
    assert urls, "the contents links should have been found"
    assert all(name == "href" and value.startswith("#") for _, name, value in urls), urls


def test_pdf_render_refuses_external_resources():
    page = "<html><body><img src='https://example.invalid/logo.png'><p>x</p></body></html>"
    with pytest.raises(ValueError, match="self-contained"):
        render_pdf(page)


# ------------------------------------------------------------- (c), (d) escaping, strictness


def test_autoescape_escapes_names_and_labels():
    evil = '<script>alert("x")</script> Trust & Co'
    html = render_html(report_data(vehicle_name=evil))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Trust &amp; Co" in html
    assert "Stratification by FICO &lt;at origination&gt; &amp; band" in html
    assert parse(html).figures  # labels with markup characters still parse back (test (a))


def test_strict_undefined_raises_on_a_missing_variable():
    env = environment()
    assert env.autoescape is True
    with pytest.raises(UndefinedError):
        env.from_string("<p>{{ header.vehicle_name }} {{ no_such_variable }}</p>").render(
            header={"vehicle_name": "x"}
        )
    with pytest.raises(UndefinedError):
        env.get_template(TEMPLATE).render(page_size="A4", parts=[], sources=[])  # no header


def test_report_data_rejects_bad_input(data):
    with pytest.raises(ValueError, match="vehicle_kind"):
        report_data(vehicle_kind="conduit")
    with pytest.raises(ValueError, match="more than one figure"):
        report_data(pool_figures=pl.concat([data.pool_figures, data.pool_figures.head(1)]))
    with pytest.raises(ValueError, match="lacks figure columns"):
        report_data(pool_figures=data.pool_figures.drop("unit"))


# ------------------------------------------------------------------ pdf determinism


def _pdfinfo(path: Path) -> str:
    return subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout


def test_pdf_is_byte_deterministic(html, pdf, tmp_path):
    assert pdf.startswith(b"%PDF-")
    assert render_pdf(html) == pdf
    # a fresh interpreter with another hash seed renders the same bytes
    source = tmp_path / "report.html"
    source.write_text(html, encoding="utf-8")
    script = (
        "import sys; from pathlib import Path; from reports import render_pdf; "
        "sys.stdout.buffer.write(render_pdf(Path(sys.argv[1]).read_text(encoding='utf-8')))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run(
        [sys.executable, "-c", script, str(source)],
        check=True,
        capture_output=True,
        env=env,
        cwd=PROJECT_ROOT,
    ).stdout
    assert other == pdf
    target = tmp_path / "report.pdf"
    target.write_bytes(pdf)
    info = _pdfinfo(target)
    assert "CreationDate" not in info and "ModDate" not in info
    assert render_pdf(html.replace(VEHICLE_NAME, VEHICLE_NAME + " ")) != pdf


# ------------------------------------------------------------------ (e), (f) not blank


def _ink(png: Path) -> tuple[float, int]:
    """Share of dark pixels (text, rules, marks) and count of chart-coloured pixels."""
    image = Image.open(png).convert("RGB")
    pixels = list(image.getdata())
    dark = sum(1 for r, g, b in pixels if r + g + b < 3 * 140)
    brick = sum(
        1 for r, g, b in pixels if abs(r - 0xC0) < 30 and abs(g - 0x50) < 30 and abs(b - 0x4D) < 30
    )
    return dark / len(pixels), brick


def _screenshot(html: str, directory: Path, name: str, size: str = "1200,1600") -> Path:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is required (Debian package chromium)")
    page = directory / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    shot = directory / f"{name}.png"
    profile = directory / f"{name}-profile"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--screenshot={shot}",
            f"--window-size={size}",
            "--hide-scrollbars",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )  # chromium may complain about DBus on stderr: the screenshot is what counts
    assert shot.exists() and shot.stat().st_size > 0, "chromium wrote no screenshot"
    return shot


def test_html_renders_in_headless_chromium(html, tmp_path):
    shot = _screenshot(html, tmp_path, "report")
    with Image.open(shot) as image:
        assert image.size == (1200, 1600)
    dark, _ = _ink(shot)
    assert dark > 0.01, f"only {dark:.2%} of the screenshot is ink"


def test_charts_render_in_headless_chromium(tmp_path):
    charts_only = published(
        pool_frame().filter(pl.col("section").is_in(["trend", "delinquency", "vintage"]))
    )
    html = render_html(
        report_data(pool_figures=charts_only, waterfall_figures=None, borrowing_base=None)
    )
    shot = _screenshot(html, tmp_path, "charts")
    dark, brick = _ink(shot)
    assert dark > 0.01
    assert brick > 300, "the second series colour of the line charts is not visible"


def test_pdf_pages_are_not_blank_and_carry_the_figures(data, pdf, tmp_path):
    for tool in ("pdftoppm", "pdftotext", "pdfinfo"):
        assert shutil.which(tool), f"{tool} (poppler-utils) is required"
    target = tmp_path / "report.pdf"
    target.write_bytes(pdf)
    pages = int(
        next(
            line.split()[-1] for line in _pdfinfo(target).splitlines() if line.startswith("Pages:")
        )
    )
    assert pages >= 3  # pool performance, certificate, waterfall each start a page
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(target), str(tmp_path / "p1")],
        check=True,
        capture_output=True,
    )
    first = next(tmp_path.glob("p1*.png"))
    dark, _ = _ink(first)
    assert dark > 0.01, f"page 1 is blank ({dark:.2%} ink)"
    subprocess.run(
        ["pdftoppm", "-r", "30", "-png", str(target), str(tmp_path / "all")],
        check=True,
        capture_output=True,
    )
    images = sorted(tmp_path.glob("all*.png"))
    assert len(images) == pages
    assert all(_ink(p)[0] > 0.002 for p in images), "a PDF page is blank"
    text = subprocess.run(
        ["pdftotext", "-layout", str(target), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert VEHICLE_NAME in text
    ending = data.pool_figures.filter(
        (pl.col("section") == "rollforward")
        & (pl.col("row") == "Principal")
        & (pl.col("column") == "Ending")
    ).row(0, named=True)
    assert format_value("usd", ending["amount"], None, None, None) == "152,141,885.65"
    assert "152,141,885.65" in text
    assert "122,900,716.31" in text  # the certificate's borrowing base
    assert "Interest waterfall" in text


# ------------------------------------------------------------------ printed as a reader reads


def test_numbers_print_as_written_by_hand(html):
    """Hand-written cells: the sign kept, thousands separated, ratios as %,
    money with two decimals (not checked against the renderer's formatter)."""
    cells = dict(parse(html).figures)
    pool, waterfall = "pool_performance", "waterfall"
    assert cells[(pool, "rollforward", "Principal", "Removals")] == "-1,200,000.00"
    assert cells[(pool, "rollforward", "Fees", "Charge-offs")] == "-3,457.78"
    assert cells[(pool, "pool", "Accounts in pool", "Count")] == "48,213"
    assert cells[(pool, "ratios", "Monthly payment rate", "This period")] == "19.23%"
    assert cells[(pool, "ratios", "Net charge-off rate (annualised)", "This period")] == "5.41%"
    assert cells[(pool, "rollforward", "Principal", "Ending")] == "152,141,885.65"
    # a tiny negative share (a credit balance) rounds to 0.00%, without a sign
    tiny = render_html(
        report_data(
            pool_figures=published(
                section_frame(
                    "stratification_balance",
                    10,
                    "Stratification by balance",
                    pl.DataFrame({"band": ["Credit balance"], "pct": ["-0.00002"]}),
                    "band",
                    {"pct": ("% of balance", "ratio")},
                )
            ),
            waterfall_figures=None,
            borrowing_base=None,
        )
    )
    assert dict(parse(tiny).figures) == {
        (pool, "stratification_balance", "Credit balance", "% of balance"): "0.00%"
    }
    assert cells[(waterfall, "triggers", "Borrowing base deficiency ($)", "Value")] == "21,793.61"
    assert cells[(waterfall, "triggers", "3-month average excess spread", "Value")] == (
        "n/a (needs 3 months)"
    )
    assert (
        cells[(waterfall, "statement_interest", "Excess spread released to the seller", "Due")]
        == ""
    )


class Tables(HTMLParser):
    """Every figure table: its header titles and rows of (label, cell texts)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"headers": [], "rows": []})
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self.tables and not self._in_head:
            self.tables[-1]["rows"].append([])
        elif tag in ("th", "td") and self.tables:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_head = False
        elif tag in ("th", "td") and self._cell is not None:
            text = "".join(self._cell).strip()
            if self._in_head:
                self.tables[-1]["headers"].append(text)
            else:
                self.tables[-1]["rows"][-1].append(text)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables_of(html: str) -> list[dict]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


def _amount(text: str) -> Decimal:
    return Decimal(text.replace(",", "").replace("$", "") or "0")


def rollforwards(html: str) -> list[tuple[str, Decimal, Decimal]]:
    """Every roll-forward of the report as (where, beginning + movements, ending):
    a table with a "Beginning…" and an "Ending…" column (each row rolls
    forward across the columns between them) or with rows so named (the
    rows between them roll the single figure column forward)."""
    out = []
    for table in tables_of(html):
        headers = table["headers"]
        begin = next((i for i, h in enumerate(headers) if h.startswith("Beginning")), None)
        end = next((i for i, h in enumerate(headers) if h.startswith("Ending")), None)
        if begin is not None and end is not None:
            for row in table["rows"]:
                cells = [_amount(c) for c in row[begin : end + 1]]
                out.append((f"{headers[begin : end + 1]} {row[0]}", sum(cells[:-1]), cells[-1]))
            continue
        labels = [row[0] for row in table["rows"]]
        begin = next((i for i, r in enumerate(labels) if r.startswith("Beginning")), None)
        end = next((i for i, r in enumerate(labels) if r.startswith("Ending")), None)
        if begin is not None and end is not None:
            cells = [_amount(row[1]) for row in table["rows"][begin : end + 1]]
            out.append((f"rows {labels[begin : end + 1]}", sum(cells[:-1]), cells[-1]))
    return out


def test_every_rollforward_table_foots(html):
    found = rollforwards(html)
    # pool roll-forward (3 receivables), notes (2 classes), reserve account
    assert len(found) == 6, found
    assert [f for f in found if f[1] != f[2]] == []


def test_a_reserve_table_showing_a_release_twice_does_not_foot():
    """The defect the footing test guards against: a 310.00 release also
    shown as a draw, so 1,000.00 - 310.00 - 310.00 != 690.00."""
    broken = waterfall_frame().with_columns(
        pl.when((pl.col("section") == "reserve") & (pl.col("row") == "Draws to cover shortfalls"))
        .then(pl.lit(Decimal("-310.00")).cast(pl.Decimal(18, 2)))
        .otherwise("amount")
        .alias("amount")
    )
    html = render_html(report_data(waterfall_figures=published(broken)))
    unbalanced = [f for f in rollforwards(html) if f[1] != f[2]]
    assert unbalanced == [
        (
            "rows ['Beginning balance', 'Release of excess over target to interest funds', "
            "'Draws to cover shortfalls', 'Deposits', 'Ending balance']",
            Decimal("380.00"),
            Decimal("690.00"),
        )
    ]


def test_table_headers_state_their_units(html):
    headers = {h for table in tables_of(html) for h in table["headers"]}
    assert {
        "Beginning ($)",
        "Ending ($)",
        "Amount ($)",
        "% of receivables",
        "This period (%)",
        "3-month average (%)",
        "Accounts",
        "Value ($ or %)",
        "Limit / rate (%)",
    } <= headers


def _page_texts(pdf: bytes, tmp_path: Path) -> list[str]:
    target = tmp_path / "pages.pdf"
    target.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(target), "-"], check=True, capture_output=True, text=True
    ).stdout
    return text.split("\f")[:-1]


def body_lines(page: str, headings: set[str]) -> list[str]:
    """A page's lines other than the running header, the page number and headings."""
    lines = []
    for raw in page.splitlines():
        line = raw.strip()
        if not line or line.startswith("Page ") or "Investor report ·" in line:
            continue
        if line in headings:
            continue
        lines.append(line)
    return lines


def headings_of(html: str) -> set[str]:
    found = set()
    for tag in ("h1", "h2", "h3"):
        for piece in html.split(f"<{tag}")[1:]:
            text = piece.split(">", 1)[1].split(f"</{tag}>", 1)[0]
            found.add(unescape(text).strip())
    return found


def footer_text(html: str) -> str:
    """The colophon's characters without any whitespace (PDF text wraps it anywhere)."""
    footer = html.split('<footer class="colophon">', 1)[1].split("</footer>", 1)[0]
    return "".join(unescape(re.sub(r"<[^>]+>", "", footer)).split())


def pages_without_body(html: str, pdf: bytes, tmp_path: Path) -> list[int]:
    """Pages holding nothing but headings, the footer and the running header."""
    pages = _page_texts(pdf, tmp_path)
    headings, footer = headings_of(html), footer_text(html)
    empty = []
    for number, page in enumerate(pages, start=1):
        body = [line for line in body_lines(page, headings) if "".join(line.split()) not in footer]
        if not body:
            empty.append(number)
    return empty


def test_every_pdf_page_has_body_text(html, pdf, tmp_path):
    assert len(_page_texts(pdf, tmp_path)) >= 3
    assert pages_without_body(html, pdf, tmp_path) == []


@pytest.mark.parametrize(
    "css",
    [
        ".colophon { break-before: page !important; }",
        "h2.part-title { break-after: page !important; }",
    ],
    ids=["footer alone", "heading alone"],
)
def test_a_page_with_only_a_heading_or_the_footer_is_found(html, tmp_path, css):
    """The check above finds such a page when the layout is forced into one."""
    broken = html.replace("</style>", css + "</style>", 1)
    assert pages_without_body(broken, render_pdf(broken), tmp_path) != []
