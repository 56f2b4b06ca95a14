"""Sources and uses of a period's cash, read from its statement: what came
in (the investor share of collections, reserve releases and draws, facility
draws) and what went out, by kind (funding.md, "Priority of payments")."""

from __future__ import annotations

from funding.structure.waterfall.state import InvestorAllocation, StatementRow

# Statement actions and which side of sources/uses their cash is on.
USE_OF_ACTION = {
    "fee": "fees",
    "interest": "interest",
    "borrowing_base_cure": "principal",
    "principal_sequential": "principal",
    "principal_pro_rata": "principal",
    "reserve_deposit": "reserve_deposits",
    "release_to_reserve": "reserve_deposits",
    "release": "release_to_seller",
    "draw": "draw_to_seller",
}
USE_KEYS = (
    "fees",
    "interest",
    "principal",
    "reserve_deposits",
    "release_to_seller",
    "draw_to_seller",
)
PRINCIPAL_ACTIONS = ("borrowing_base_cure", "principal_sequential", "principal_pro_rata")


def sources(allocation: InvestorAllocation, rows: list[StatementRow]) -> dict[str, int]:
    cash = {f"interest_funds.{m}": cents for m, cents in allocation.interest_funds.items()}
    cash["principal_funds.principal_collections"] = allocation.principal_collections
    cash.update(reserve_and_facility_sources(rows))
    return cash


def reserve_and_facility_sources(
    rows: tuple[StatementRow, ...] | list[StatementRow],
) -> dict[str, int]:
    """Cash the statement shows coming from the reserve or the lender."""
    release = sum(r.paid_cents for r in rows if r.action == "reserve_release")
    draws = sum(r.from_reserve_cents for r in rows if r.action != "reserve_release")
    facility = sum(r.paid_cents for r in rows if r.action == "draw")
    return {"reserve_release": release, "reserve_draws": draws, "facility_draw": facility}


def uses_from_statement(rows: tuple[StatementRow, ...] | list[StatementRow]) -> dict[str, int]:
    uses = dict.fromkeys(USE_KEYS, 0)
    for row in rows:
        if row.action in USE_OF_ACTION:
            uses[USE_OF_ACTION[row.action]] += row.paid_cents
    return uses
