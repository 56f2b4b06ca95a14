"""Blocking checks of a vehicle's computed figures (pool roll-forward,
waterfall invariants, certificate tie-out), each naming vehicle, period,
check and the offending rows."""

from __future__ import annotations

import polars as pl

from checks.outcome import CheckOutcome, offending_rows
from funding.period import Period
from funding.structure.borrowing_base import certificate_totals
from funding.structure.waterfall import WaterfallResult, check_invariants


def pool_rollforward_outcome(
    vehicle_id: str, period: Period, rollforward: pl.DataFrame
) -> CheckOutcome:
    off = rollforward.filter(pl.col("difference_cents") != 0)
    passed = off.height == 0
    return CheckOutcome(
        "pool_rollforward",
        passed,
        f"{vehicle_id} {period}: pool_rollforward "
        + (
            "holds to the cent"
            if passed
            else "is off: "
            + "; ".join(
                f"{r['receivable']} by {r['difference_cents']} cents" for r in off.to_dicts()
            )
        ),
        observed={r["receivable"]: r["difference_cents"] for r in rollforward.to_dicts()},
        offending=offending_rows(off.to_dicts()),
    )


def waterfall_outcome(vehicle_id: str, period: Period, result: WaterfallResult) -> CheckOutcome:
    violations = check_invariants(result)
    return CheckOutcome(
        "waterfall_invariants",
        not violations,
        f"{vehicle_id} {period}: waterfall_invariants "
        + (
            "hold (sources = uses, no negative balances, paid <= due, seniority, roll-forward)"
            if not violations
            else "broken: " + "; ".join(v.message for v in violations[:20])
        ),
        observed={"sources_cents": result.sources_total, "uses_cents": result.uses_total},
        offending=offending_rows(
            [{"invariant": v.invariant, "message": v.message} for v in violations]
        ),
    )


def certificate_ties_to_allocation(
    vehicle_id: str, period: Period, certificate: pl.DataFrame, allocation: pl.DataFrame
) -> CheckOutcome:
    """The certificate's totals equal sums over the per-account allocation."""
    line = certificate_totals(certificate)
    eligible = allocation.filter(pl.col("is_eligible"))
    sums = {
        "pool_principal": int(allocation["principal_cents"].sum()),
        "eligible_balance": int(eligible["principal_cents"].sum()),
        "excess_concentration": int(allocation["excess_concentration_cents"].sum()),
        "net_eligible_balance": int(eligible["principal_cents"].sum())
        - int(allocation["excess_concentration_cents"].sum()),
    }
    off = [
        {"line": k, "certificate_cents": line.get(k), "allocation_cents": v}
        for k, v in sums.items()
        if line.get(k) != v
    ]
    return CheckOutcome(
        "certificate_ties_to_allocation",
        not off,
        f"{vehicle_id} {period}: certificate totals "
        + ("equal the per-account allocation" if not off else f"differ: {off}"),
        observed=sums,
        offending=offending_rows(off),
    )
