"""Blocking checks of a vehicle's computed figures (pool roll-forward,
waterfall invariants, certificate tie-out), each naming vehicle, period,
check and the offending rows."""

from __future__ import annotations

import polars as pl

from checks.outcome import CheckOutcome, offending_rows


def pool_rollforward_outcome(vehicle_id: str, key: str, rollforward: pl.DataFrame) -> CheckOutcome:
    off = rollforward.filter(pl.col("difference_cents") != 0)
    passed = off.height == 0
    return CheckOutcome(
        "pool_rollforward",
        passed,
        f"{vehicle_id} {key}: pool_rollforward "
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


def waterfall_outcome(vehicle_id: str, key: str, result) -> CheckOutcome:
    from funding.waterfall import check_invariants

    violations = check_invariants(result)
    return CheckOutcome(
        "waterfall_invariants",
        not violations,
        f"{vehicle_id} {key}: waterfall_invariants "
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
