"""Per-vehicle funding structure: eligibility, borrowing base, the waterfall
with triggers and state carried across periods, and the borrowing base
certificate."""

from decimal import Decimal

import dagster as dg
import polars as pl

from assets.metadata import markdown_table, usd
from assets.stage import Step, vehicle_asset
from checks.vehicle import certificate_ties_to_allocation, waterfall_outcome
from funding.ledger.snapshot import pool_members
from funding.storage.tables import (
    BORROWING_BASE_ALLOCATION,
    BORROWING_BASE_CERTIFICATE,
    BORROWING_BASE_LINES,
    ELIGIBILITY,
    INVESTOR_ALLOCATION,
    NOTE_INTEREST,
    POOL_PERFORMANCE,
    SNAPSHOT,
    TRIGGER_TESTS,
    WATERFALL_OPENING,
    WATERFALL_STATE,
    WATERFALL_STATEMENT,
    WATERFALL_SUMMARY,
    WATERFALL_TABLES,
)
from funding.structure.borrowing_base import (
    borrowing_base_of,
    certificate_at,
    certificate_totals,
    compute_borrowing_base,
)
from funding.structure.eligibility import evaluate_eligibility, ineligibility_reason_counts
from funding.structure.waterfall import run_waterfall
from funding.structure.waterfall.inputs import opening_state_for, period_inputs, trigger_tests_frame
from funding.structure.waterfall.summary import (
    investor_allocation,
    note_interest,
    waterfall_summary,
)
from funding.vehicle_config import VehicleConfig

STATEMENT_MONEY = ("due_cents", "paid_cents", "shortfall_cents", "from_reserve_cents")


def build_structure_assets(config: VehicleConfig, partitions_def) -> list[dg.AssetsDefinition]:
    assets = []
    if config.eligibility is not None:
        assets += _eligibility_assets(config, partitions_def)
    if config.has_notes:
        assets.append(_waterfall_asset(config, partitions_def))
    if config.facility is not None:
        assets.append(_certificate_asset(config, partitions_def))
    return assets


def _eligibility_assets(config: VehicleConfig, partitions_def) -> list[dg.AssetsDefinition]:
    @vehicle_asset(
        config,
        "eligibility",
        partitions_def=partitions_def,
        reads=[SNAPSHOT],
        writes=[ELIGIBILITY],
        kinds={"polars"},
        description=f"Every pool account of {config.name} with is_eligible and all failing criteria.",
    )
    def eligibility(step: Step) -> dg.MaterializeResult:
        pool = pool_members(step.tables.read(SNAPSHOT), config.id)
        result = evaluate_eligibility(pool, config.eligibility)
        step.tables.write(ELIGIBILITY, result)
        eligible_share = result["is_eligible"].mean() if result.height else None
        return dg.MaterializeResult(
            metadata={
                "accounts": dg.MetadataValue.int(result.height),
                "eligible_accounts_pct": dg.MetadataValue.text(
                    "n/a" if eligible_share is None else f"{eligible_share * 100:.2f}%"
                ),
                "ineligibility_reasons": markdown_table(ineligibility_reason_counts(result)),
            }
        )

    @vehicle_asset(
        config,
        "borrowing_base",
        partitions_def=partitions_def,
        reads=[SNAPSHOT, ELIGIBILITY],
        writes=[BORROWING_BASE_LINES, BORROWING_BASE_ALLOCATION],
        kinds={"polars"},
        description="Eligible balance, concentration limits (without duplication), "
        "excess concentration allocated account by account, and the borrowing base.",
    )
    def borrowing_base(step: Step) -> dg.MaterializeResult:
        pool = pool_members(step.tables.read(SNAPSHOT), config.id)
        eligible = step.tables.read(ELIGIBILITY)
        # Advances are the waterfall's state; the certificate adds them later.
        result = compute_borrowing_base(pool, eligible, config.eligibility, config.facility, 0)
        step.tables.write(BORROWING_BASE_LINES, result.certificate_rows())
        step.tables.write(BORROWING_BASE_ALLOCATION, result.allocation)
        eb = result.eligible_balance_cents
        return dg.MaterializeResult(
            metadata={
                "eligible_balance": dg.MetadataValue.text(usd(eb)),
                "eligible_pct_of_pool": dg.MetadataValue.text(
                    f"{Decimal(eb) / result.pool_principal_cents * 100:.2f}%"
                    if result.pool_principal_cents
                    else "n/a"
                ),
                "excess_concentration": dg.MetadataValue.text(
                    usd(result.excess_concentration_cents)
                ),
                "borrowing_base": dg.MetadataValue.text(usd(result.borrowing_base_cents)),
                "top_binding_limits": dg.MetadataValue.text(
                    "; ".join(
                        f"{b.code}{':' + b.bucket if b.bucket else ''} excess {usd(b.excess_cents)}"
                        for b in result.binding_limits(3)
                    )
                    or "none"
                ),
            }
        )

    return [eligibility, borrowing_base]


def _waterfall_asset(config: VehicleConfig, partitions_def) -> dg.AssetsDefinition:
    reads = [POOL_PERFORMANCE, WATERFALL_STATE]
    if config.facility is not None:
        reads.append(BORROWING_BASE_LINES)

    @vehicle_asset(
        config,
        "waterfall",
        partitions_def=partitions_def,
        reads=reads,
        writes=WATERFALL_TABLES,
        checks=[
            (
                "waterfall_invariants",
                "Sources = uses to the cent; no negative balances; paid <= due; seniority "
                "respected; note balances roll forward from the previous state.",
            )
        ],
        resources={"fixings"},
        kinds={"python"},
        description=f"Triggers, interest and principal waterfalls and the closing state of "
        f"{config.name}; each period starts from the previous period's state.",
    )
    def waterfall(step: Step) -> dg.MaterializeResult:
        previous_state = step.tables.read_optional(WATERFALL_STATE, step.period.previous())
        first = config.first_period
        # Without a configured first period, the first period run starts from the config.
        if first is None and previous_state is None and not earlier_states(step):
            first = step.period
        performance = step.tables.read(POOL_PERFORMANCE).to_dicts()[0]
        previous = opening_state_for(
            config,
            config.id,
            step.period,
            first,
            previous_state,
            pool_at_closing_cents=int(performance["beginning_principal_cents"]),
        )
        lines = step.tables.read(BORROWING_BASE_LINES) if config.facility is not None else None
        inputs = period_inputs(
            config,
            step.period,
            performance,
            step.resources.fixings.table,
            None if lines is None else borrowing_base_of(lines),
            config.facility.draw_policy if config.facility else "max_available",
        )
        result = run_waterfall(config, previous, inputs)
        statement = pl.DataFrame([row.to_dict() for row in result.statement])
        triggers = trigger_tests_frame(result.trigger_tests)
        step.tables.write(WATERFALL_STATEMENT, statement)
        step.tables.write(TRIGGER_TESTS, triggers)
        step.tables.write(WATERFALL_STATE, result.state)
        step.tables.write(WATERFALL_OPENING, result.opening)
        step.tables.write(WATERFALL_SUMMARY, waterfall_summary(config, inputs, result))
        step.tables.write(INVESTOR_ALLOCATION, investor_allocation(config, inputs, result))
        step.tables.write(NOTE_INTEREST, note_interest(config, inputs, result))
        state = result.state
        return dg.MaterializeResult(
            metadata={
                "status": dg.MetadataValue.text(
                    state.status + (" (cash trap)" if state.cash_trap else "")
                ),
                "note_balances": dg.MetadataValue.json(
                    {note: usd(cents) for note, cents in state.note_balances.items()}
                ),
                "reserve": dg.MetadataValue.text(usd(state.reserve_cents)),
                "statement": markdown_table(
                    statement.select("waterfall", "step", "action", "target", *STATEMENT_MONEY),
                    dict.fromkeys(STATEMENT_MONEY, usd),
                ),
                "trigger_tests": markdown_table(triggers),
            },
            check_results=[step.check_result(waterfall_outcome(config.id, step.period, result))],
        )

    return waterfall


def earlier_states(step: Step) -> list:
    return [p for p in step.tables.periods(WATERFALL_STATE) if p < step.period]


def _certificate_asset(config: VehicleConfig, partitions_def) -> dg.AssetsDefinition:
    @vehicle_asset(
        config,
        "borrowing_base_certificate",
        partitions_def=partitions_def,
        reads=[BORROWING_BASE_LINES, BORROWING_BASE_ALLOCATION, WATERFALL_OPENING],
        writes=[BORROWING_BASE_CERTIFICATE],
        checks=[
            (
                "certificate_ties_to_allocation",
                "Certificate totals equal sums over the per-account allocation.",
            )
        ],
        kinds={"polars"},
        description="The borrowing base certificate: eligible balance, each limit's bucket, "
        "limit and excess, advance rate, borrowing base, advances outstanding at period end, "
        "availability or deficiency.",
    )
    def borrowing_base_certificate(step: Step) -> dg.MaterializeResult:
        opening = step.tables.read(WATERFALL_OPENING)
        certificate = certificate_at(
            step.tables.read(BORROWING_BASE_LINES), int(opening.advances_cents or 0)
        )
        step.tables.write(BORROWING_BASE_CERTIFICATE, certificate)
        outcome = certificate_ties_to_allocation(
            config.id, step.period, certificate, step.tables.read(BORROWING_BASE_ALLOCATION)
        )
        line = certificate_totals(certificate)
        return dg.MaterializeResult(
            metadata={
                name: dg.MetadataValue.text(usd(line.get(name)))
                for name in (
                    "borrowing_base",
                    "advances_outstanding",
                    "availability",
                    "deficiency",
                    "eligible_balance",
                )
            }
            | {
                "certificate": markdown_table(
                    certificate.select(
                        "line_no",
                        "line",
                        "bucket",
                        "bucket_amount_cents",
                        "limit_amount_cents",
                        "amount_cents",
                    ),
                    dict.fromkeys(
                        ("bucket_amount_cents", "limit_amount_cents", "amount_cents"), usd
                    ),
                )
            },
            check_results=[step.check_result(outcome)],
        )

    return borrowing_base_certificate
