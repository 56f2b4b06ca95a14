"""The note sections of the waterfall part: coupons and interest periods,
balances and payments (investor charge-offs written down) and the reserve
account."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

import polars as pl

from funding.money import to_cents
from funding.outputs.figures.common import day_label, ratio_text, rows
from funding.outputs.figures.frame import section_frame
from funding.outputs.labels import class_label
from funding.structure.waterfall.cash import PRINCIPAL_ACTIONS

if TYPE_CHECKING:
    from funding.outputs.figures.waterfall import WaterfallPeriod


def _bps_text(bps: object) -> str | None:
    return None if bps is None else ratio_text(Fraction(Decimal(str(bps))) / 10_000)


def note_terms_section(notes: pl.DataFrame, floating: bool, order: int) -> pl.DataFrame:
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


def notes_section(period: WaterfallPeriod, floating: bool, order: int) -> pl.DataFrame:
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


def reserve_section(
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
        rows(
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
