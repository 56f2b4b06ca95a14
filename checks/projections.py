"""The back-test of a vehicle's projection: projected from P-3 with the
realised pool measures, the waterfalls of P-2 ... P must equal the published
ones to the cent. A blocking check on the projection, never on the actuals."""

from __future__ import annotations

from collections.abc import Sequence

from checks.outcome import CheckOutcome, offending_rows
from funding.period import Period
from funding.projections.backtest import Difference

BACKTEST_CHECK = "projection_backtest"


def backtest_outcome(
    vehicle_id: str,
    period: Period,
    start: Period,
    months: Sequence[Period],
    differences: Sequence[Difference],
) -> CheckOutcome:
    span = f"{months[0]}..{months[-1]}" if months else "no published period"
    where = f"{vehicle_id} {period}: {BACKTEST_CHECK}: the projection from {start} over {span}"
    if not differences:
        summary = f"{where} equals the published waterfalls to the cent"
    else:
        first = differences[0]
        summary = (
            f"{where} differs from the published waterfalls in {len(differences)} places, "
            f"first {first.period} {first.item}: projected {first.projected!r}, "
            f"published {first.published!r}"
        )
    return CheckOutcome(
        BACKTEST_CHECK,
        not differences,
        summary,
        observed={"months": [m.key for m in months], "differences": len(differences)},
        expected={"differences": 0},
        offending=offending_rows([d.to_dict() for d in differences]),
    )
