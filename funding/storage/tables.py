"""Every table of the lake, declared once: its name, the stage that writes
it and how it is stored. The data flow of one period, in stage order:

    receivables_snapshot      receivables_snapshot, snapshot_window (shared)
    pool_performance          pool_performance, pool_rollforward, delinquency
    analytics                 stratifications, vintage_curves, trends, roll_rates,
                              vintage_contributions, origination_limits
    eligibility               eligibility
    borrowing_base            borrowing_base_lines, borrowing_base_allocation
    waterfall                 waterfall_statement, trigger_tests, waterfall_opening, waterfall_state,
                              waterfall_summary, investor_allocation, note_interest
    borrowing_base_certificate  borrowing_base_certificate
    projections               projections, projection_scenarios
    loan_tape                 loan_tape
    validation                data_quality
    investor_package          package
"""

from __future__ import annotations

from funding.storage.lake import FRAME, JSON, PARQUET_BYTES, Codec, Table
from funding.structure.waterfall.state import VehicleState

STATE: Codec[VehicleState] = Codec(
    "json",
    lambda state: state.to_json().encode(),
    lambda data: VehicleState.from_json(data.decode()),
)

SNAPSHOT = Table("receivables_snapshot", "receivables_snapshot", FRAME, shared=True)
# The cutoff and window a snapshot was read with (for manifests and the UI).
SNAPSHOT_WINDOW = Table(
    "snapshot_window", "receivables_snapshot", JSON, shared=True, folder="receivables_snapshot"
)

POOL_PERFORMANCE = Table("pool_performance", "pool_performance", FRAME)
POOL_ROLLFORWARD = Table("pool_rollforward", "pool_performance", FRAME)
DELINQUENCY = Table("delinquency", "pool_performance", FRAME)

STRATIFICATIONS = Table("stratifications", "analytics", FRAME)
VINTAGE_CURVES = Table("vintage_curves", "analytics", FRAME)
TRENDS = Table("trends", "analytics", FRAME)
ROLL_RATES = Table("roll_rates", "analytics", FRAME)
# What the next period's vintage curves start from (funding.performance.vintages.VintageBasis).
VINTAGE_CONTRIBUTIONS = Table("vintage_contributions", "analytics", FRAME)
ORIGINATION_LIMITS = Table("origination_limits", "analytics", FRAME)

ELIGIBILITY = Table("eligibility", "eligibility", FRAME)
BORROWING_BASE_LINES = Table("borrowing_base_lines", "borrowing_base", FRAME)
BORROWING_BASE_ALLOCATION = Table("borrowing_base_allocation", "borrowing_base", FRAME)

WATERFALL_STATEMENT = Table("waterfall_statement", "waterfall", FRAME)
TRIGGER_TESTS = Table("trigger_tests", "waterfall", FRAME)
WATERFALL_OPENING = Table("waterfall_opening", "waterfall", STATE)
WATERFALL_STATE = Table("waterfall_state", "waterfall", STATE)
# What investors read besides the statement (funding.structure.waterfall.summary).
WATERFALL_SUMMARY = Table("waterfall_summary", "waterfall", FRAME)
INVESTOR_ALLOCATION = Table("investor_allocation", "waterfall", FRAME)
NOTE_INTEREST = Table("note_interest", "waterfall", FRAME)
WATERFALL_TABLES = (  # everything the waterfall stage writes
    WATERFALL_STATEMENT,
    TRIGGER_TESTS,
    WATERFALL_OPENING,
    WATERFALL_STATE,
    WATERFALL_SUMMARY,
    INVESTOR_ALLOCATION,
    NOTE_INTEREST,
)

BORROWING_BASE_CERTIFICATE = Table(
    "borrowing_base_certificate", "borrowing_base_certificate", FRAME
)
# Forward projections from the period's published state (funding/projections/table.py)
# and the scenarios' parameter hashes the manifest lists.
PROJECTIONS = Table("projections", "projections", FRAME)
PROJECTION_SCENARIOS = Table("projection_scenarios", "projections", JSON)
LOAN_TAPE = Table("loan_tape", "loan_tape", PARQUET_BYTES)
DATA_QUALITY = Table("data_quality", "validation", FRAME)
PACKAGE = Table("package", "investor_package", JSON)
