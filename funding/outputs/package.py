"""The contents of an investor package, built from the lake's tables: its
figure tables, data files and manifest fields.

`pool_performance.parquet` holds every pool figure the report shows and
`waterfall.parquet` every waterfall figure (`funding.outputs.figures`
explains the long format); `borrowing_base.parquet` is the certificate
itself; `loan_tape_dictionary.csv` describes the tape's columns.

Roll-forward tables (pool, notes, reserve) publish reductions as negative
amounts, so that beginning + the movements between it and the ending
column (or row) = ending, as printed.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

import polars as pl

from funding.money import to_cents
from funding.outputs.figures import FIGURE_SCHEMA, cents_to_amount, combine, section_frame
from funding.outputs.labels import (
    DIMENSION_LABELS,
    EFFECT_LABELS,
    MEASURE_LABELS,
    MONEY_RATIOS,
    NEEDS_THREE_MONTHS,
    NO_VALUE,
    NOT_DEFINED,
    OPERATOR_WORDS,
    RATIO_LABELS,
    STATUS_LABELS,
    band_label,
    bucket_label,
    class_label,
    name_label,
    ratio_label,
    statement_label,
    trigger_value_label,
)
from funding.outputs.tape import (
    DICTIONARY_FILE,
    tape_control_totals,
    tape_csv_bytes,
    tape_dictionary_csv,
)
from funding.period import Period
from funding.storage.lake import parquet_bytes
from funding.structure.config import StructureConfig
from funding.structure.triggers import (
    REVOLVING,
    SELLER_INTEREST_TO_INVESTED,
    fraction_to_decimal_string,
)
from funding.structure.waterfall.engine import PRINCIPAL_ACTIONS
from funding.structure.waterfall.state import VehicleState

TREND_MONTHS = 13


def _rows(pairs: list[tuple[str, object]], value_name: str = "value") -> pl.DataFrame:
    return pl.DataFrame(
        {"row": [p[0] for p in pairs], value_name: [p[1] for p in pairs]},
        schema_overrides={"row": pl.String},
    )


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
            _rows(
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
            _rows(
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
        _rows(
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
    sentences = _rows(
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


# ------------------------------------------------------------------ waterfall


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
            _invested_section(summary, 101),
            _allocation_percentage_section(summary, 102),
            _allocation_section(period.allocation, 103),
            _seller_interest_test_section(config, summary, 104),
            _excess_spread_section(config, period.summaries, 105),
        ]
    sections += [
        _note_terms_section(period.note_interest, floating, 110),
        _notes_section(period, floating, 111),
    ]
    if config.reserve_account is not None:
        sections.append(_reserve_section(period, summary, 112))
    sections.append(status_section(config, period, 113))
    sections += _statement_sections(period.statement, 120)
    sections.append(trigger_section(period.triggers, 130))
    return combine([s for s in sections if s is not None])


def _exact(text: object) -> Fraction | None:
    return None if text is None else Fraction(Decimal(str(text)))


def _ratio_text(value: Fraction | None) -> str | None:
    return None if value is None else fraction_to_decimal_string(value)


def _invested_section(summary: Mapping[str, object], order: int) -> pl.DataFrame:
    pool = (summary["pool_beginning_principal_cents"], summary["pool_ending_principal_cents"])
    invested = (summary["invested_beginning_cents"], summary["invested_ending_cents"])
    seller = tuple(
        None if p is None else int(p) - int(i) for p, i in zip(pool, invested, strict=True)
    )
    share = tuple(
        None if p in (None, 0) or s is None else _ratio_text(Fraction(s, int(p)))
        for p, s in zip(pool, seller, strict=True)
    )
    table = pl.DataFrame(
        {
            "row": ["Pool principal", "Invested amount", "Seller's interest"],
            "beginning": [pool[0], invested[0], seller[0]],
            "end": [pool[1], invested[1], seller[1]],
        },
        schema={"row": pl.String, "beginning": pl.Int64, "end": pl.Int64},
    )
    amounts = section_frame(
        "invested",
        order,
        "Invested amount and seller's interest",
        table,
        "row",
        {"beginning": ("Beginning of period", "usd"), "end": ("End of period", "usd")},
    )
    shares = section_frame(
        "invested",
        order,
        "Invested amount and seller's interest",
        pl.DataFrame(
            {"row": ["Seller's interest, % of pool"], "beginning": [share[0]], "end": [share[1]]},
            schema={"row": pl.String, "beginning": pl.String, "end": pl.String},
        ),
        "row",
        {"beginning": ("Beginning of period", "ratio"), "end": ("End of period", "ratio")},
    ).with_columns(pl.col("row_order") + table.height)
    return pl.concat([amounts, shares])


def _allocation_percentage_section(summary: Mapping[str, object], order: int) -> pl.DataFrame:
    investor = _exact(summary["investor_percentage"])
    return section_frame(
        "allocation_percentage",
        order,
        "Floating allocation percentages (invested amount / pool principal, beginning)",
        pl.DataFrame(
            {
                "row": ["Investor percentage", "Seller percentage"],
                "value": [
                    _ratio_text(investor),
                    _ratio_text(None if investor is None else 1 - investor),
                ],
            },
            schema={"row": pl.String, "value": pl.String},
        ),
        "row",
        {"value": ("This period", "ratio")},
    )


def _allocation_section(allocation: pl.DataFrame, order: int) -> pl.DataFrame:
    labelled = allocation.with_columns(
        pl.col("measure").map_elements(
            lambda m: MEASURE_LABELS.get(m, m.replace("_", " ")), return_dtype=pl.String
        )
    )
    return section_frame(
        "allocation",
        order,
        "Allocation of collections and losses",
        labelled,
        "measure",
        {
            "pool_cents": ("Pool", "usd"),
            "investor_cents": ("Investor share", "usd"),
            "seller_cents": ("Seller share", "usd"),
        },
    )


def _seller_interest_trigger(config: StructureConfig):
    return next((t for t in config.triggers if t.ratio == SELLER_INTEREST_TO_INVESTED), None)


def _seller_interest_test_section(
    config: StructureConfig, summary: Mapping[str, object], order: int
) -> pl.DataFrame:
    """The minimum seller's interest test: the pool's principal at the period
    end less the invested amount before this period's payments, against the
    trigger's share of that invested amount (a trust without such a trigger
    is held to a seller's interest of at least zero, so an invested amount
    above the pool still reads as a failed test)."""
    trigger = _seller_interest_trigger(config)
    op, threshold = ("<", Decimal(0)) if trigger is None else (trigger.op, trigger.threshold)
    invested = int(summary["invested_beginning_cents"])
    ending = summary["pool_ending_principal_cents"]
    seller = None if ending is None else int(ending) - invested
    required = to_cents(Fraction(threshold) * invested, config.rounding)
    ratio = _exact(summary["seller_interest_to_invested"])
    passed = ratio is not None and not _breached(op, ratio, Fraction(threshold))
    return section_frame(
        "seller_interest",
        order,
        "Minimum seller's interest test (pool principal at period end less invested amount)",
        pl.DataFrame(
            {
                "row": ["Minimum seller's interest"],
                "seller": [seller],
                "required": [required],
                "headroom": [None if seller is None else seller - required],
                "ratio": [_ratio_text(ratio)],
                "minimum": [str(threshold)],
                "result": ["Pass" if passed else "FAILED" if ratio is not None else NO_VALUE],
            },
            schema={
                "row": pl.String,
                "seller": pl.Int64,
                "required": pl.Int64,
                "headroom": pl.Int64,
                "ratio": pl.String,
                "minimum": pl.String,
                "result": pl.String,
            },
        ),
        "row",
        {
            "seller": ("Seller's interest", "usd"),
            "required": ("Required minimum", "usd"),
            "headroom": ("Headroom", "usd"),
            "ratio": ("Seller's interest, % of invested", "ratio"),
            "minimum": ("Minimum, % of invested", "ratio"),
            "result": ("Result", "text"),
        },
    )


def _breached(op: str, value: Fraction, threshold: Fraction) -> bool:
    return {
        "<": value < threshold,
        "<=": value <= threshold,
        ">": value > threshold,
        ">=": value >= threshold,
    }[op]


def excess_spread_lines(
    config: StructureConfig, summary: Mapping[str, object]
) -> dict[str, Fraction | None]:
    """One period's excess spread as trusts print it, each part x 12 over the
    invested amount at the beginning of the period (the definitions of the
    `excess_spread` trigger ratio): portfolio yield (the investor's finance
    charge collections: interest funds less recoveries), base rate (note
    interest + rate-based fees such as the servicing fee), other (flat) fees,
    net charge-offs (investor defaulted amount less recoveries); excess spread
    = yield - base rate - other fees - net charge-offs."""
    invested = int(summary["invested_beginning_cents"])
    if invested <= 0:
        return dict.fromkeys(("yield", "base_rate", "excess_spread"), None)

    def annual(cents: int) -> Fraction:
        return Fraction(cents * 12, invested)

    recoveries = int(summary["recoveries_in_funds_cents"])
    lines: dict[str, Fraction | None] = {
        "yield": annual(int(summary["interest_funds_cents"]) - recoveries),
        "note_interest": annual(int(summary["interest_accrued_cents"])),
    }
    rate_fees = [f for f in config.fees if f.flat_cents is None]
    flat_fees = [f for f in config.fees if f.flat_cents is not None]
    for fee in rate_fees:
        lines[f"fee:{fee.name}"] = annual(int(summary[f"fee_{fee.name}_cents"]))
    lines["base_rate"] = lines["note_interest"] + sum(
        (lines[f"fee:{f.name}"] for f in rate_fees), Fraction(0)
    )
    for fee in flat_fees:
        lines[f"fee:{fee.name}"] = annual(int(summary[f"fee_{fee.name}_cents"]))
    lines["net_chargeoffs"] = annual(int(summary["defaulted_cents"]) - recoveries)
    lines["excess_spread"] = (
        lines["yield"]
        - lines["base_rate"]
        - sum((lines[f"fee:{f.name}"] for f in flat_fees), Fraction(0))
        - lines["net_chargeoffs"]
    )
    engine = summary.get("excess_spread")
    if engine is not None and _ratio_text(lines["excess_spread"]) != engine:
        raise ValueError(
            f"excess spread parts give {_ratio_text(lines['excess_spread'])}, "
            f"the waterfall computed {engine}"
        )
    return lines


def _excess_spread_labels(config: StructureConfig) -> dict[str, str]:
    labels = {
        "yield": "Portfolio yield (finance charge collections)",
        "base_rate": "Less: base rate",
        "note_interest": "Base rate: note interest",
    }
    for fee in config.fees:
        if fee.flat_cents is None:
            labels[f"fee:{fee.name}"] = f"Base rate: {name_label(fee.name).lower()}"
    for fee in config.fees:
        if fee.flat_cents is not None:
            labels[f"fee:{fee.name}"] = f"Less: {name_label(fee.name).lower()}"
    labels["net_chargeoffs"] = "Less: net charge-offs (defaulted amount less recoveries)"
    labels["excess_spread"] = "Excess spread"
    return labels


def _excess_spread_section(
    config: StructureConfig,
    summaries: Sequence[tuple[Period, Mapping[str, object]]],
    order: int,
) -> pl.DataFrame:
    """The last three months and their average, annualised, as % of the
    invested amount. The average is the `excess_spread_3m_avg` trigger's."""
    labels = _excess_spread_labels(config)
    months = [(p, excess_spread_lines(config, s)) for p, s in summaries[-3:]]
    table: dict[str, list] = {"row": list(labels.values())}
    columns: dict[str, tuple[str, str]] = {}
    for i, (p, lines) in enumerate(months):
        table[f"m{i}"] = [_ratio_text(lines.get(k)) for k in labels]
        columns[f"m{i}"] = (month_label(p), "ratio")
    average: list[str | None] = [None] * len(labels)
    if len(months) == 3 and all(lines["excess_spread"] is not None for _, lines in months):
        average = [
            _ratio_text(sum((lines[k] for _, lines in months), Fraction(0)) / 3) for k in labels
        ]
        engine = summaries[-1][1].get("excess_spread_3m_avg")
        if engine is not None and average[-1] != engine:
            raise ValueError(
                f"3-month excess spread {average[-1]} differs from the trigger's {engine}"
            )
    table["average"] = average
    columns["average"] = ("3-month average", "ratio")
    return section_frame(
        "excess_spread",
        order,
        "Excess spread (annualised, % of invested amount)",
        pl.DataFrame(table, schema={k: pl.String for k in table}),
        "row",
        columns,
        missing={"average": NEEDS_THREE_MONTHS},
    )


def month_label(period: Period) -> str:
    """`2025-03` as "Mar 2025"."""
    return f"{MONTH_ABBREVIATIONS[period.month - 1]} {period.year}"


MONTH_ABBREVIATIONS = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip


def day_label(day: date) -> str:
    """2025-03-17 as "17 Mar 2025"."""
    return f"{day.day} {MONTH_ABBREVIATIONS[day.month - 1]} {day.year}"


def _bps_text(bps: object) -> str | None:
    return None if bps is None else _ratio_text(Fraction(Decimal(str(bps))) / 10_000)


def _note_terms_section(notes: pl.DataFrame, floating: bool, order: int) -> pl.DataFrame:
    """Each class's coupon (index fixing + margin, or fixed), day count,
    interest period, days and payment date."""
    rows = []
    for n in notes.iter_rows(named=True):
        floating_rate = n["index"] is not None
        rows.append(
            {
                "class": class_label(n["class"]),
                "rating": n["rating"] or "Not rated",
                "index": n["index"] if floating_rate else "Fixed",
                "fixing": _bps_text(n["fixing_bps"]) if floating_rate else None,
                "margin": _bps_text(n["margin_bps"]) if floating_rate else None,
                "coupon": n["rate"],
                "day_count": n["day_count"],
                "period": f"{day_label(n['accrual_start'])} – {day_label(n['accrual_end'])}",
                "days": n["days"],
                "payment_date": day_label(n["payment_date"]),
            }
        )
    table = pl.DataFrame(
        rows,
        schema={
            "class": pl.String,
            "rating": pl.String,
            "index": pl.String,
            "fixing": pl.String,
            "margin": pl.String,
            "coupon": pl.String,
            "day_count": pl.String,
            "period": pl.String,
            "days": pl.Int64,
            "payment_date": pl.String,
        },
    )
    return section_frame(
        "note_terms",
        order,
        "Note coupons and interest periods" if floating else "Advances: interest rate and period",
        table,
        "class",
        {
            "rating": ("Rating", "text"),
            "index": ("Index", "text"),
            "fixing": ("Index fixing", "ratio"),
            "margin": ("Margin", "ratio"),
            "coupon": ("Coupon", "ratio"),
            "day_count": ("Day count", "text"),
            "period": ("Interest period", "text"),
            "days": ("Days", "count"),
            "payment_date": ("Payment date", "text"),
        },
        missing={"fixing": "–", "margin": "–"},
    )


def _notes_section(period: WaterfallPeriod, floating: bool, order: int) -> pl.DataFrame:
    """Each class's balance roll-forward (reductions negative, so beginning +
    movements = ending), then interest paid and the payments per $1,000 of
    original balance."""
    paid = period.statement.group_by("action", "target").agg(pl.col("paid_cents").sum())
    paid_by = {(r["action"], r["target"]): r["paid_cents"] for r in paid.to_dicts()}
    chargeoffs = _investor_chargeoffs(period)
    rows = []
    for cls, begin in period.opening.note_balances.items():
        interest = paid_by.get(("interest", cls), 0)
        principal = sum(v for (a, t), v in paid_by.items() if t == cls and a in PRINCIPAL_ACTIONS)
        original = period.original_balances.get(cls) or 0
        per_1000 = floating and original > 0
        rows.append(
            {
                "class": class_label(cls),
                "original": original,
                "begin": begin,
                "draws": paid_by.get(("draw", cls), 0),
                "principal": -principal,
                "chargeoffs": -chargeoffs.get(cls, 0),
                "reimbursed": paid_by.get(("chargeoff_reimbursement", cls), 0),
                "end": period.closing.note_balances[cls],
                "interest": interest,
                "interest_per_1000": to_cents(Fraction(interest * 100_000, original))
                if per_1000
                else None,
                "principal_per_1000": to_cents(Fraction(principal * 100_000, original))
                if per_1000
                else None,
            }
        )
    columns = {
        "original": ("Original balance", "usd"),
        "begin": ("Beginning balance", "usd"),
        "draws": ("New advances", "usd"),
        "principal": ("Principal paid", "usd"),
        "chargeoffs": ("Investor charge-offs (written down)", "usd"),
        "reimbursed": ("Charge-offs reimbursed", "usd"),
        "end": ("Ending balance", "usd"),
        "interest": ("Interest paid", "usd"),
        "interest_per_1000": ("Interest per $1,000 original", "usd"),
        "principal_per_1000": ("Principal per $1,000 original", "usd"),
    }
    if floating:
        del columns["draws"]
    else:
        for name in (
            "original",
            "chargeoffs",
            "reimbursed",
            "interest_per_1000",
            "principal_per_1000",
        ):
            del columns[name]
    return section_frame(
        "notes",
        order,
        "Notes: balances and payments" if floating else "Advances: balance and payments",
        pl.DataFrame(rows, schema={k: pl.String if k == "class" else pl.Int64 for k in rows[0]}),
        "class",
        columns,
    )


def _investor_chargeoffs(period: WaterfallPeriod) -> dict[str, int]:
    """Each class's write-down this period: closing = opening - principal
    paid + reimbursed + draws - charge-offs, so the charge-off is what the
    statement's payments leave unexplained."""
    paid = period.statement.group_by("action", "target").agg(pl.col("paid_cents").sum())
    paid_by = {(r["action"], r["target"]): r["paid_cents"] for r in paid.to_dicts()}
    out = {}
    for cls, begin in period.opening.note_balances.items():
        principal = sum(v for (a, t), v in paid_by.items() if t == cls and a in PRINCIPAL_ACTIONS)
        explained = (
            begin
            - principal
            + paid_by.get(("chargeoff_reimbursement", cls), 0)
            + paid_by.get(("draw", cls), 0)
        )
        out[cls] = explained - period.closing.note_balances[cls]
    return out


def _reserve_section(
    period: WaterfallPeriod, summary: Mapping[str, object], order: int
) -> pl.DataFrame:
    """The reserve account's roll-forward (outflows negative) and its target."""
    statement = period.statement
    released = int(statement.filter(pl.col("action") == "reserve_release")["paid_cents"].sum())
    draws = int(statement.filter(pl.col("action") != "reserve_release")["from_reserve_cents"].sum())
    deposits = int(
        statement.filter(pl.col("action").is_in(["reserve_deposit", "release_to_reserve"]))[
            "paid_cents"
        ].sum()
    )
    target = summary.get("reserve_target_cents")
    ending = period.closing.reserve_cents
    return section_frame(
        "reserve",
        order,
        "Reserve account",
        _rows(
            [
                ("Beginning balance", period.opening.reserve_cents),
                ("Release of excess over target to interest funds", -released),
                ("Draws to cover shortfalls", -draws),
                ("Deposits", deposits),
                ("Ending balance", ending),
                ("Required amount (target)", target),
                (
                    "Ending balance over (under) target",
                    None if target is None else ending - int(target),
                ),
            ]
        ),
        "row",
        {"value": ("Amount", "usd")},
    )


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


def certificate_table(certificate: pl.DataFrame) -> pl.DataFrame:
    """The borrowing base certificate with money as DECIMAL(18,2)."""
    return certificate.select(
        "line_no",
        "line",
        pl.col("bucket").fill_null(""),
        pl.col("pct").cast(pl.Decimal(38, 2)),
        cents_to_amount(pl.col("bucket_amount_cents")).alias("bucket_amount"),
        cents_to_amount(pl.col("limit_amount_cents")).alias("limit_amount"),
        cents_to_amount(pl.col("amount_cents")).alias("amount"),
    )


@dataclass(frozen=True)
class PackageFiles:
    """The data files of a package (outputs.md layout) and their row counts."""

    data: dict[str, bytes]
    rows: dict[str, int]
    tape: pl.DataFrame
    pool_figures: pl.DataFrame
    waterfall_figures: pl.DataFrame | None
    certificate: pl.DataFrame | None
    projections: pl.DataFrame | None = None


def package_files(
    tape_parquet: bytes,
    pool: pl.DataFrame,
    waterfall: pl.DataFrame | None,
    certificate: pl.DataFrame | None,
    projections: pl.DataFrame | None = None,
) -> PackageFiles:
    """The data files of a package. The tape's Parquet is published exactly
    as the loan tape stage wrote it; its CSV is made from the same frame, and
    its dictionary from the column definitions the tape is built from."""
    tape = pl.read_parquet(io.BytesIO(tape_parquet))
    dictionary = tape_dictionary_csv(tape)
    data = {
        "loan_tape.parquet": tape_parquet,
        "loan_tape.csv": tape_csv_bytes(tape),
        DICTIONARY_FILE: dictionary,
        "pool_performance.parquet": parquet_bytes(pool),
    }
    rows = {
        "loan_tape.parquet": tape.height,
        "loan_tape.csv": tape.height,
        DICTIONARY_FILE: tape.width,
        "pool_performance.parquet": pool.height,
    }
    if waterfall is not None:
        data["waterfall.parquet"] = parquet_bytes(waterfall)
        rows["waterfall.parquet"] = waterfall.height
    if certificate is not None:
        data["borrowing_base.parquet"] = parquet_bytes(certificate)
        rows["borrowing_base.parquet"] = certificate.height
    if projections is not None:  # funding/projections/table.py: scenario, month, measure, value
        data["projections.parquet"] = parquet_bytes(projections)
        rows["projections.parquet"] = projections.height
    return PackageFiles(data, rows, tape, pool, waterfall, certificate, projections)


def manifest_fields(
    ledger_cutoff: str,
    code_version: str,
    config_sha256: str,
    tape: pl.DataFrame,
    data_quality: pl.DataFrame,
    projections: dict[str, object] | None = None,
    tape_key_fingerprint: str | None = None,
) -> dict[str, object]:
    """The manifest fields a package states besides its files (outputs.md);
    `projections` lists the projected scenarios and their parameters' hash;
    `tape_key_fingerprint` tells which TAPE_HMAC_KEY made the account_refs."""
    fields: dict[str, object] = {
        "ledger_cutoff": ledger_cutoff,
        "code_version": code_version,
        "config_sha256": config_sha256,
        "control_totals": tape_control_totals(tape),
        "checks": {r["check"]: r["result"] == "passed" for r in data_quality.to_dicts()},
    }
    if projections is not None:
        fields["projections"] = projections
    if tape_key_fingerprint is not None:
        fields["tape_key_fingerprint"] = tape_key_fingerprint
    return fields
