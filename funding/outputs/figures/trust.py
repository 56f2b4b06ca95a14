"""The trust sections of the waterfall part: invested amount and seller's
interest, floating allocation, the minimum seller's interest test and excess
spread."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction

import polars as pl

from funding.money import to_cents
from funding.outputs.figures.common import month_label, ratio_text
from funding.outputs.figures.frame import section_frame
from funding.outputs.labels import MEASURE_LABELS, NEEDS_THREE_MONTHS, NO_VALUE, name_label
from funding.period import Period
from funding.structure.config import StructureConfig
from funding.structure.triggers import SELLER_INTEREST_TO_INVESTED


def _exact(text: object) -> Fraction | None:
    return None if text is None else Fraction(Decimal(str(text)))


def invested_section(summary: Mapping[str, object], order: int) -> pl.DataFrame:
    pool = (summary["pool_beginning_principal_cents"], summary["pool_ending_principal_cents"])
    invested = (summary["invested_beginning_cents"], summary["invested_ending_cents"])
    seller = tuple(
        None if p is None else int(p) - int(i) for p, i in zip(pool, invested, strict=True)
    )
    share = tuple(
        None if p in (None, 0) or s is None else ratio_text(Fraction(s, int(p)))
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


def allocation_percentage_section(summary: Mapping[str, object], order: int) -> pl.DataFrame:
    investor = _exact(summary["investor_percentage"])
    return section_frame(
        "allocation_percentage",
        order,
        "Floating allocation percentages (invested amount / pool principal, beginning)",
        pl.DataFrame(
            {
                "row": ["Investor percentage", "Seller percentage"],
                "value": [
                    ratio_text(investor),
                    ratio_text(None if investor is None else 1 - investor),
                ],
            },
            schema={"row": pl.String, "value": pl.String},
        ),
        "row",
        {"value": ("This period", "ratio")},
    )


def allocation_section(allocation: pl.DataFrame, order: int) -> pl.DataFrame:
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


def seller_interest_test_section(
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
                "ratio": [ratio_text(ratio)],
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
    if engine is not None and ratio_text(lines["excess_spread"]) != engine:
        raise ValueError(
            f"excess spread parts give {ratio_text(lines['excess_spread'])}, "
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


def excess_spread_section(
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
        table[f"m{i}"] = [ratio_text(lines.get(k)) for k in labels]
        columns[f"m{i}"] = (month_label(p), "ratio")
    average: list[str | None] = [None] * len(labels)
    if len(months) == 3 and all(lines["excess_spread"] is not None for _, lines in months):
        average = [
            ratio_text(sum((lines[k] for _, lines in months), Fraction(0)) / 3) for k in labels
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
