"""The pool part of an investor package: the pool figures of the report, its
data quality statement among them."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from funding.outputs.figures.common import rows
from funding.outputs.figures.frame import FIGURE_SCHEMA, cents_to_amount, combine, section_frame
from funding.outputs.labels import (
    DIMENSION_LABELS,
    NEEDS_THREE_MONTHS,
    NO_VALUE,
    NOT_DEFINED,
    RATIO_LABELS,
    band_label,
    bucket_label,
    ratio_label,
)

TREND_MONTHS = 13


def pool_figures(
    performance: Mapping[str, object],
    rollforward: pl.DataFrame,
    delinquency: pl.DataFrame,
    stratifications: pl.DataFrame,
    vintages: pl.DataFrame,
    roll_rates: pl.DataFrame | None,
    trends: pl.DataFrame,
    data_quality: pl.DataFrame,
) -> pl.DataFrame:
    """Every pool figure of the report for one vehicle and period.

    `performance` is the period's pool_performance row (measures in cents,
    ratios as exact decimal text); the other frames are the lake's tables.
    """
    sections = [
        section_frame(
            "pool",
            1,
            "Pool summary",
            rows(
                [
                    ("Accounts in pool", performance["account_count"]),
                    ("Accounts with a balance", performance["active_account_count"]),
                ]
            ),
            "row",
            {"value": ("Accounts", "count")},
        ),
        _rollforward_section(rollforward, 2),
        section_frame(
            "collections",
            3,
            "Collections and losses",
            rows(
                [
                    ("Principal collections", performance["principal_collections_cents"]),
                    ("Interest collections", performance["interest_collections_cents"]),
                    ("Fee collections", performance["fee_collections_cents"]),
                    ("Finance charge collections", performance["finance_charge_collections_cents"]),
                    ("Recoveries", performance["recoveries_cents"]),
                    ("Principal charged off", performance["chargeoff_principal_cents"]),
                    ("Net charge-offs", performance["net_chargeoffs_cents"]),
                ]
            ),
            "row",
            {"value": ("Amount", "usd")},
        ),
        _ratio_section(performance),
        _trend_section(trends, 5),
        section_frame(
            "delinquency",
            6,
            "Delinquency",
            delinquency.sort("bucket_order").with_columns(
                pl.col("bucket").map_elements(bucket_label, return_dtype=pl.String)
            ),
            "bucket",
            {
                "amount_cents": ("Amount", "usd"),
                "account_count": ("Accounts", "count"),
                "pct_of_total_receivables": ("% of receivables", "ratio"),
            },
        ),
        *_stratification_sections(stratifications, first_order=10),
        _vintage_section(vintages, order=40),
    ]
    if roll_rates is not None:
        sections += _roll_rate_sections(roll_rates, first_order=50)
    sections += data_quality_sections(data_quality, first_order=90)
    return combine(sections)


# The pool roll-forward as a reader foots it: every movement signed, so that
# beginning + the movements = ending along each row.
_ROLLFORWARD_COLUMNS = {
    "begin_cents": ("Beginning", 1),
    "additions_cents": ("Additions", 1),
    "removals_cents": ("Removals", -1),
    "billed_cents": ("Purchases / billed", 1),
    "returns_cents": ("Returns", -1),
    "collections_cents": ("Collections", -1),
    "waivers_cents": ("Waivers", -1),
    "chargeoffs_cents": ("Charge-offs", -1),
    "end_cents": ("Ending", 1),
}
RECEIVABLE_LABELS = {"principal": "Principal", "interest": "Finance charges", "fees": "Fees"}


def _rollforward_section(rollforward: pl.DataFrame, order: int) -> pl.DataFrame:
    signed = rollforward.with_columns(
        pl.col("receivable").replace(RECEIVABLE_LABELS),
        *(pl.col(c) * sign for c, (_, sign) in _ROLLFORWARD_COLUMNS.items() if sign < 0),
    )
    return section_frame(
        "rollforward",
        order,
        "Pool roll-forward (reductions shown negative)",
        signed,
        "receivable",
        {c: (label, "usd") for c, (label, _) in _ROLLFORWARD_COLUMNS.items()},
    )


def _ratio_section(performance: Mapping[str, object]) -> pl.DataFrame:
    """Each ratio the vehicle defines, this period and its 3-month average
    ("n/a (needs 3 months)" until three periods exist; "–" for a ratio whose
    average the vehicle does not define)."""
    names = [n for n in RATIO_LABELS if n in performance]
    averaged = [n for n in names if f"{n}_3m_avg" in performance]
    table = pl.DataFrame(
        {
            "ratio": [RATIO_LABELS[n] for n in names],
            "value": [performance.get(n) for n in names],
            "average": [performance.get(f"{n}_3m_avg") for n in names],
        },
        schema={"ratio": pl.String, "value": pl.String, "average": pl.String},
    )
    frame = section_frame(
        "ratios",
        4,
        "Headline ratios",
        table,
        "ratio",
        {"value": ("This period", "ratio"), "average": ("3-month average", "ratio")},
        missing={"value": NO_VALUE, "average": NEEDS_THREE_MONTHS},
    )
    undefined = pl.col("row").is_in([RATIO_LABELS[n] for n in names if n not in averaged]) & (
        pl.col("column") == "3-month average"
    )
    return frame.with_columns(
        pl.when(undefined).then(pl.lit(NOT_DEFINED)).otherwise("text").alias("text")
    )


def _trend_section(trends: pl.DataFrame, order: int) -> pl.DataFrame:
    """The headline ratios month by month; the title says how many of the
    13 months exist yet. A missing value says why."""
    columns = [c for c in trends.columns if c != "period_end"]
    shown = trends.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in columns))
    return section_frame(
        "trend",
        order,
        f"Trend of headline ratios ({shown.height} of {TREND_MONTHS} months)",
        shown.with_columns(pl.col("period_end").dt.strftime("%Y-%m")),
        "period_end",
        {c: (ratio_label(c), "ratio") for c in columns},
        missing=dict.fromkeys(columns, NO_VALUE),
    )


def _stratification_sections(strats: pl.DataFrame, first_order: int) -> list[pl.DataFrame]:
    sections = []
    for i, ((dimension,), part) in enumerate(
        strats.sort("dimension_order", "band_order").group_by("dimension", maintain_order=True)
    ):
        labelled = part.with_columns(
            pl.col("band").map_elements(
                lambda band, d=dimension: band_label(d, band), return_dtype=pl.String
            )
        )
        sections.append(
            section_frame(
                f"stratification_{dimension}",
                first_order + i,
                f"Stratification by {DIMENSION_LABELS.get(dimension, dimension.replace('_', ' '))}",
                labelled,
                "band",
                {
                    "account_count": ("Accounts", "count"),
                    "pct_count": ("% of accounts", "ratio"),
                    "balance_cents": ("Balance", "usd"),
                    "pct_balance": ("% of balance", "ratio"),
                },
            )
        )
    return sections


def _pivot_section(
    section: str,
    order: int,
    title: str,
    long: pl.DataFrame,
    row: str,
    row_order: str,
    column: str,
    column_order: str,
    value: str,
    unit: str,
) -> pl.DataFrame:
    """A matrix (rows x columns) as figure rows, keeping both orders."""
    if long.height == 0:
        return pl.DataFrame(schema=FIGURE_SCHEMA)
    rows = (
        long.select(pl.col(row).alias("_row"), pl.col(row_order).alias("_ro")).unique().sort("_ro")
    )
    cols = (
        long.select(pl.col(column).alias("_col"), pl.col(column_order).alias("_co"))
        .unique()
        .sort("_co")
    )
    frame = (
        long.with_columns(pl.col(row).alias("_row"), pl.col(column).alias("_col"))
        .join(rows.with_row_index("r", 1).drop("_ro"), on="_row")
        .join(cols.with_row_index("c", 1).drop("_co"), on="_col")
    )
    value_expr = pl.col(value)
    return frame.select(
        pl.lit(section).alias("section"),
        pl.lit(order, pl.Int64).alias("section_order"),
        pl.lit(title).alias("title"),
        pl.col("_row").cast(pl.String).alias("row"),
        pl.col("r").cast(pl.Int64).alias("row_order"),
        pl.col("_col").cast(pl.String).alias("column"),
        pl.col("c").cast(pl.Int64).alias("column_order"),
        pl.lit(unit).alias("unit"),
        (cents_to_amount(value_expr) if unit == "usd" else pl.lit(None, pl.Decimal(18, 2))).alias(
            "amount"
        ),
        (
            value_expr.cast(pl.Decimal(38, 18)).round(12).cast(FIGURE_SCHEMA["ratio"])
            if unit == "ratio"
            else pl.lit(None, FIGURE_SCHEMA["ratio"])
        ).alias("ratio"),
        (value_expr.cast(pl.Int64) if unit == "count" else pl.lit(None, pl.Int64)).alias("count"),
        pl.lit(None, pl.String).alias("text"),
    ).sort("row_order", "column_order")


# Net of recoveries, so a vintage's curve can dip in a month whose recoveries
# exceed its charge-offs: the title and the chart say so. The most recent
# origination quarters only: older ones are seen over a few late months on
# book, which neither reads as a curve nor fits a page.
VINTAGE_QUARTERS = 8
VINTAGE_TITLE = (
    f"Vintage cumulative net charge-offs, last {VINTAGE_QUARTERS} origination quarters "
    "(net of recoveries, % of original credit limit)"
)


def _vintage_section(vintages: pl.DataFrame, order: int) -> pl.DataFrame:
    recent = sorted(vintages["vintage"].unique().to_list())[-VINTAGE_QUARTERS:]
    vintages = vintages.filter(pl.col("vintage").is_in(recent))
    return _pivot_section(
        "vintage",
        order,
        VINTAGE_TITLE,
        vintages.with_columns(pl.col("vintage").alias("vintage_order")),
        "vintage",
        "vintage_order",
        "months_on_book",
        "months_on_book",
        "cumulative_net_chargeoff_rate",
        "ratio",
    )


def _roll_rate_sections(rolls: pl.DataFrame, first_order: int) -> list[pl.DataFrame]:
    rolls = rolls.with_columns(
        pl.col("from_bucket", "to_bucket").map_elements(bucket_label, return_dtype=pl.String)
    )
    return [
        _pivot_section(
            "roll_rates_balance",
            first_order,
            "Roll rates by balance (% of prior bucket)",
            rolls,
            "from_bucket",
            "from_order",
            "to_bucket",
            "to_order",
            "pct_balance",
            "ratio",
        ),
        _pivot_section(
            "roll_rates_count",
            first_order + 1,
            "Roll rates by count (% of prior bucket)",
            rolls,
            "from_bucket",
            "from_order",
            "to_bucket",
            "to_order",
            "pct_count",
            "ratio",
        ),
    ]


# ------------------------------------------------------------------ data quality

_WARNING_SENTENCES = {
    "account_count_change": "The number of accounts in the pool changed by {observed}% from the "
    "previous month; changes of more than {threshold}% are flagged for review.",
    "pool_balance_change": "The pool's principal balance changed by {observed}% from the previous "
    "month; changes of more than {threshold}% are flagged for review.",
    "missing_fico_share": "A share of {observed} of the pool's accounts has no origination FICO "
    "score, above the {threshold} we flag.",
    "snapshot.posting_after_chargeoff": "Some accounts had ledger postings counted after their "
    "charge-off ({observed}); their balances follow the postings.",
    "tape.chargedoff_zero_receivables": "Some charged-off accounts still show a balance on the "
    "loan tape ({observed}).",
}


def warning_sentence(check: str, observed: str, threshold: str) -> str:
    """A warning in plain words, for the investor report."""
    template = _WARNING_SENTENCES.get(check)
    if template is not None:
        return template.format(observed=observed or "?", threshold=threshold or "?")
    name = check.split(".", 1)[-1].replace("_", " ")
    return (
        f"The check '{name}' raised a warning (observed {observed or '-'}, "
        f"threshold {threshold or '-'})."
    )


def data_quality_sections(data_quality: pl.DataFrame, first_order: int) -> list[pl.DataFrame]:
    """The investor report's data quality statement: how many blocking checks
    passed, how many warnings were raised, and each warning in plain words.
    The full check table is in the internal operations report."""
    blocking = data_quality.filter(pl.col("severity") == "ERROR")
    warnings = data_quality.filter((pl.col("severity") != "ERROR") & (pl.col("result") != "passed"))
    counts = section_frame(
        "data_quality",
        first_order,
        "Data quality",
        rows(
            [
                ("Blocking checks passed", blocking.filter(pl.col("result") == "passed").height),
                ("Blocking checks failed", blocking.filter(pl.col("result") != "passed").height),
                ("Warnings raised", warnings.height),
            ]
        ),
        "row",
        {"value": ("Checks", "count")},
    )
    if warnings.height == 0:
        return [counts]
    sentences = rows(
        [
            (f"Warning {i}", warning_sentence(w["check"], w["observed"], w["threshold"]))
            for i, w in enumerate(warnings.iter_rows(named=True), start=1)
        ]
    )
    return [
        counts,
        section_frame(
            "data_quality_warnings",
            first_order + 1,
            "Data quality warnings",
            sentences,
            "row",
            {"value": ("What was found", "text")},
        ),
    ]
