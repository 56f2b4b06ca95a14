"""The waterfall of one vehicle and period: `run_waterfall(config, state, inputs)`.

`state` holds the records (statement rows, the state carried across periods,
inputs, result), `engine` runs a period from `accruals` (allocation, interest,
fees, reserve target), `trigger_ratios` (the vehicle's own ratios) and `cash`
(sources and uses), `invariants` checks the result.
"""

from funding.structure.waterfall.accruals import allocate_pro_rata
from funding.structure.waterfall.engine import run_waterfall
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
