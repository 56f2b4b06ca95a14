"""The contents of an investor package, built from the lake's tables: its
figure tables, data files and manifest fields.

`pool_performance.parquet` holds every pool figure the report shows and
`waterfall.parquet` every waterfall figure (`funding.outputs.figures`
explains the long format); `borrowing_base.parquet` is the certificate itself.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import polars as pl

from funding.money import to_cents
from funding.outputs.figures import FIGURE_SCHEMA, cents_to_amount, combine, section_frame
from funding.outputs.tape import tape_control_totals, tape_csv_bytes
from funding.storage.lake import parquet_bytes
from funding.structure.waterfall.state import VehicleState

RATIO_LABELS = {
    "payment_rate": "Monthly payment rate",
    "gross_chargeoff_rate": "Gross charge-off rate (annualised)",
    "net_chargeoff_rate": "Net charge-off rate (annualised)",
    "portfolio_yield": "Portfolio yield (annualised)",
    "purchase_rate": "Purchase rate",
    "delinquency_60_plus": "60+ day delinquency",
}


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
            {"value": ("Count", "count")},
        ),
        section_frame(
            "rollforward",
            2,
            "Pool roll-forward",
            rollforward.with_columns(pl.col("receivable").str.to_titlecase()),
            "receivable",
            {
                "begin_cents": ("Beginning", "usd"),
                "additions_cents": ("Additions", "usd"),
                "removals_cents": ("Removals", "usd"),
                "billed_cents": ("Purchases / billed", "usd"),
                "returns_cents": ("Returns", "usd"),
                "collections_cents": ("Collections", "usd"),
                "waivers_cents": ("Waivers", "usd"),
                "chargeoffs_cents": ("Charge-offs", "usd"),
                "end_cents": ("Ending", "usd"),
            },
        ),
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
        section_frame(
            "trend",
            5,
            "13-month trend",
            trends.with_columns(pl.col("period_end").dt.strftime("%Y-%m")),
            "period_end",
            {
                c: (
                    RATIO_LABELS.get(c, c.replace("_3m_avg", " (3m avg)").replace("_", " ")),
                    "ratio",
                )
                for c in trends.columns
                if c != "period_end"
            },
        ),
        section_frame(
            "delinquency",
            6,
            "Delinquency",
            delinquency.sort("bucket_order"),
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
    sections.append(
        section_frame(
            "data_quality",
            90,
            "Data quality summary",
            data_quality,
            "check",
            {
                "severity": ("Severity", "text"),
                "result": ("Result", "text"),
                "observed": ("Observed", "text"),
                "threshold": ("Threshold", "text"),
            },
        )
    )
    return combine(sections)


def _ratio_section(performance: Mapping[str, object]) -> pl.DataFrame:
    names = [n for n in RATIO_LABELS if n in performance]
    table = pl.DataFrame(
        {
            "ratio": [RATIO_LABELS[n] for n in names],
            "value": [performance.get(n) for n in names],
            "average": [performance.get(f"{n}_3m_avg") for n in names],
        },
        schema={"ratio": pl.String, "value": pl.String, "average": pl.String},
    )
    return section_frame(
        "ratios",
        4,
        "Headline ratios",
        table,
        "ratio",
        {"value": ("This period", "ratio"), "average": ("3-month average", "ratio")},
    )


def _stratification_sections(strats: pl.DataFrame, first_order: int) -> list[pl.DataFrame]:
    sections = []
    for i, ((dimension,), part) in enumerate(
        strats.sort("dimension_order", "band_order").group_by("dimension", maintain_order=True)
    ):
        sections.append(
            section_frame(
                f"stratification_{dimension}",
                first_order + i,
                f"Stratification by {dimension.replace('_', ' ')}",
                part,
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


def _vintage_section(vintages: pl.DataFrame, order: int) -> pl.DataFrame:
    return _pivot_section(
        "vintage",
        order,
        "Vintage cumulative net charge-offs (% of original credit limit)",
        vintages.with_columns(pl.col("vintage").alias("vintage_order")),
        "vintage",
        "vintage_order",
        "months_on_book",
        "months_on_book",
        "cumulative_net_chargeoff_rate",
        "ratio",
    )


def _roll_rate_sections(rolls: pl.DataFrame, first_order: int) -> list[pl.DataFrame]:
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


def waterfall_figures(
    statement: pl.DataFrame,
    triggers: pl.DataFrame,
    opening: VehicleState,
    closing: VehicleState,
    initial_balances: Mapping[str, int],
) -> pl.DataFrame:
    """Notes, reserve, status, statement and trigger tests of one period."""
    paid = statement.group_by("action", "target").agg(pl.col("paid_cents").sum())
    paid_by = {(r["action"], r["target"]): r["paid_cents"] for r in paid.to_dicts()}
    notes = []
    for cls, begin in opening.note_balances.items():
        interest = paid_by.get(("interest", cls), 0)
        principal = sum(
            v for (a, t), v in paid_by.items() if t == cls and a.startswith("principal")
        ) + paid_by.get(("borrowing_base_cure", cls), 0)
        initial = initial_balances.get(cls) or 0
        notes.append(
            {
                "class": cls,
                "begin": begin,
                "interest": interest,
                "principal": principal,
                "draws": paid_by.get(("draw", cls), 0),
                "end": closing.note_balances[cls],
                "interest_per_1000": to_cents(Fraction(interest * 100_000, initial))
                if initial
                else None,
                "principal_per_1000": to_cents(Fraction(principal * 100_000, initial))
                if initial
                else None,
            }
        )
    notes_frame = pl.DataFrame(
        notes,
        schema={
            "class": pl.String,
            "begin": pl.Int64,
            "interest": pl.Int64,
            "principal": pl.Int64,
            "draws": pl.Int64,
            "end": pl.Int64,
            "interest_per_1000": pl.Int64,
            "principal_per_1000": pl.Int64,
        },
    )
    deposits = sum(
        v for (a, _), v in paid_by.items() if a in ("reserve_deposit", "release_to_reserve")
    )
    reserve = _rows(
        [
            ("Beginning balance", opening.reserve_cents),
            ("Deposits", deposits),
            ("Draws for shortfalls", int(statement["from_reserve_cents"].sum())),
            ("Release of excess", paid_by.get(("reserve_release", "interest_funds"), 0)),
            ("Ending balance", closing.reserve_cents),
        ]
    )
    status = pl.DataFrame(
        {
            "item": ["Status", "Cash trap"],
            "value": [closing.status.replace("_", " "), "yes" if closing.cash_trap else "no"],
        }
    )
    statement_rows = statement.with_columns(
        pl.format(
            "{} {}. {} {}",
            "waterfall",
            "step",
            pl.col("action").str.replace_all("_", " "),
            "target",
        ).alias("line")
    )
    trigger_rows = triggers.with_columns(
        pl.format("{} {} {}", "ratio", "op", "threshold").alias("test"),
        pl.when(pl.col("breached"))
        .then(pl.lit("BREACHED"))
        .otherwise(pl.lit("pass"))
        .alias("result"),
        pl.col("effect").str.replace_all("_", " "),
    )
    return combine(
        [
            section_frame(
                "notes",
                101,
                "Notes",
                notes_frame,
                "class",
                {
                    "begin": ("Beginning balance", "usd"),
                    "interest": ("Interest paid", "usd"),
                    "principal": ("Principal paid", "usd"),
                    "draws": ("Draws", "usd"),
                    "end": ("Ending balance", "usd"),
                    "interest_per_1000": ("Interest per $1,000 original", "usd"),
                    "principal_per_1000": ("Principal per $1,000 original", "usd"),
                },
            ),
            section_frame(
                "reserve", 102, "Reserve account", reserve, "row", {"value": ("Amount", "usd")}
            ),
            section_frame(
                "status", 103, "Vehicle status", status, "item", {"value": ("Value", "text")}
            ),
            section_frame(
                "statement",
                104,
                "Waterfall statement",
                statement_rows,
                "line",
                {
                    "due_cents": ("Due", "usd"),
                    "paid_cents": ("Paid", "usd"),
                    "shortfall_cents": ("Shortfall", "usd"),
                    "from_reserve_cents": ("From reserve", "usd"),
                    "available_after_cents": ("Available after", "usd"),
                },
            ),
            section_frame(
                "triggers",
                105,
                "Trigger tests",
                trigger_rows,
                "name",
                {
                    "test": ("Test", "text"),
                    "value": ("Value", "ratio"),
                    "result": ("Result", "text"),
                    "effect": ("Effect", "text"),
                },
            ),
        ]
    )


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
    as the loan tape stage wrote it; its CSV is made from the same frame."""
    tape = pl.read_parquet(io.BytesIO(tape_parquet))
    data = {
        "loan_tape.parquet": tape_parquet,
        "loan_tape.csv": tape_csv_bytes(tape),
        "pool_performance.parquet": parquet_bytes(pool),
    }
    rows = {
        "loan_tape.parquet": tape.height,
        "loan_tape.csv": tape.height,
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
) -> dict[str, object]:
    """The manifest fields a package states besides its files (outputs.md);
    `projections` lists the projected scenarios and their parameters' hash."""
    fields: dict[str, object] = {
        "ledger_cutoff": ledger_cutoff,
        "code_version": code_version,
        "config_sha256": config_sha256,
        "control_totals": tape_control_totals(tape),
        "checks": {r["check"]: r["result"] == "passed" for r in data_quality.to_dicts()},
    }
    if projections is not None:
        fields["projections"] = projections
    return fields
