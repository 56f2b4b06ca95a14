"""The waterfall of one vehicle and period: `run_waterfall(config, state, inputs)`.

`state` holds the records (statement rows, the state carried across periods,
inputs, result), `engine` runs a period, `invariants` checks the result.
"""

from funding.structure.waterfall.engine import allocate_pro_rata, run_waterfall
from funding.structure.waterfall.invariants import Violation, check_invariants
from funding.structure.waterfall.state import (
    MissingPredecessorError,
    PeriodInputs,
    StatementRow,
    VehicleState,
    WaterfallResult,
    initial_state,
)

__all__ = [
    "MissingPredecessorError",
    "PeriodInputs",
    "StatementRow",
    "VehicleState",
    "Violation",
    "WaterfallResult",
    "allocate_pro_rata",
    "check_invariants",
    "initial_state",
    "run_waterfall",
]
