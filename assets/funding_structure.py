"""Per-vehicle funding assets: eligibility, borrowing base, waterfall with
triggers and state carried across periods, and the borrowing base certificate."""

from decimal import Decimal

import dagster as dg
import polars as pl

from assets.extraction import SNAPSHOT_KEY
from assets.lake_layout import snapshot_path, table_path
from assets.metadata import markdown_table, usd
from assets.reporting import not_reporting
from checks.dagster_results import check_specs, to_check_result
from checks.outcome import CheckOutcome, offending_rows
from checks.vehicle import waterfall_outcome
from dagster_project.partitions import (
    PREVIOUS_PERIOD,
    partition_key_of,
    period_end_of,
    previous_month_end,
)
from dagster_project.resources import FixingsResource, LakeResource
from funding.borrowing_base import compute_borrowing_base
from funding.eligibility import evaluate_eligibility
from funding.pool import measures_from_row
from funding.snapshot import pool_members
from funding.vehicle_config import VehicleConfig
from funding.waterfall import PeriodInputs, VehicleState, initial_state, run_waterfall


def build_structure_assets(config: VehicleConfig, partitions_def) -> list[dg.AssetsDefinition]:
    assets = []
    if config.eligibility is not None:
        assets += _eligibility_assets(config, partitions_def)
    if config.has_notes:
        assets.append(_waterfall_asset(config, partitions_def))
    if config.facility is not None:
        assets.append(_certificate_asset(config, partitions_def))
    return assets


def _eligibility_assets(config: VehicleConfig, partitions_def):
    vid = config.id
    eligibility_key = dg.AssetKey([vid, "eligibility"])
    bb_key = dg.AssetKey([vid, "borrowing_base"])

    @dg.asset(
        key=eligibility_key,
        partitions_def=partitions_def,
        deps=[SNAPSHOT_KEY],
        kinds={"polars"},
        group_name=vid,
        description=f"Every pool account of {config.name} with is_eligible and all failing criteria.",
    )
    def eligibility(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        key = context.partition_key
        if (skipped := not_reporting(config, key)) is not None:
            return skipped
        pool = pool_members(lake.lake.read_frame(*snapshot_path(key)), vid)
        result = evaluate_eligibility(pool, config.eligibility)
        lake.lake.write_frame(result, *table_path(vid, "eligibility", key))
        reasons = (
            result.filter(~pl.col("is_eligible"))
            .select(pl.col("ineligibility_reasons").str.split(";"))
            .explode("ineligibility_reasons")
            .group_by("ineligibility_reasons")
            .len()
            .sort("len", descending=True)
        )
        eligible_share = result["is_eligible"].mean() if result.height else None
        return dg.MaterializeResult(
            metadata={
                "accounts": dg.MetadataValue.int(result.height),
                "eligible_accounts_pct": dg.MetadataValue.text(
                    "n/a" if eligible_share is None else f"{eligible_share * 100:.2f}%"
                ),
                "ineligibility_reasons": markdown_table(
                    reasons.rename({"ineligibility_reasons": "reason", "len": "accounts"})
                ),
            }
        )

    @dg.asset(
        key=bb_key,
        partitions_def=partitions_def,
        deps=[eligibility_key, SNAPSHOT_KEY],
        kinds={"polars"},
        group_name=vid,
        description="Eligible balance, concentration limits (without duplication), "
        "excess concentration allocated account by account, and the borrowing base.",
    )
    def borrowing_base(
        context: dg.AssetExecutionContext, lake: LakeResource
    ) -> dg.MaterializeResult:
        key = context.partition_key
        if (skipped := not_reporting(config, key)) is not None:
            return skipped
        store = lake.lake
        pool = pool_members(store.read_frame(*snapshot_path(key)), vid)
        eligible = store.read_frame(*table_path(vid, "eligibility", key))
        # Advances are the waterfall's state; the certificate adds them later.
        result = compute_borrowing_base(pool, eligible, config.eligibility, config.facility, 0)
        store.write_frame(result.certificate_rows(), *table_path(vid, "borrowing_base_lines", key))
        store.write_frame(result.allocation, *table_path(vid, "borrowing_base_allocation", key))
        binding = result.binding_limits(3)
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
                        for b in binding
                    )
                    or "none"
                ),
            }
        )

    return [eligibility, borrowing_base]


def _state_path(vid: str, key: str):
    return table_path(vid, "waterfall_state", key, "json")


def _waterfall_asset(config: VehicleConfig, partitions_def):
    vid = config.id
    key_ = dg.AssetKey([vid, "waterfall"])
    deps = [
        dg.AssetDep(key_, partition_mapping=PREVIOUS_PERIOD),
        dg.AssetKey([vid, "pool_performance"]),
    ]
    if config.facility is not None:
        deps.append(dg.AssetKey([vid, "borrowing_base"]))

    @dg.asset(
        key=key_,
        partitions_def=partitions_def,
        deps=deps,
        kinds={"python"},
        group_name=vid,
        check_specs=check_specs(
            key_,
            [
                (
                    "waterfall_invariants",
                    "Sources = uses to the cent; no negative balances; paid <= due; seniority "
                    "respected; note balances roll forward from the previous state.",
                )
            ],
        ),
        description=f"Triggers, interest and principal waterfalls and the closing state of {config.name}; "
        "each period starts from the previous period's state.",
    )
    def waterfall(
        context: dg.AssetExecutionContext, lake: LakeResource, fixings: FixingsResource
    ) -> dg.MaterializeResult:
        key = context.partition_key
        if (skipped := not_reporting(config, key, "waterfall_invariants")) is not None:
            return skipped
        store = lake.lake
        period_end = period_end_of(key)
        previous_end = previous_month_end(period_end)
        if config.first_period_end is not None and period_end == config.first_period_end:
            previous = initial_state(config, previous_end)
        else:
            prev_key = partition_key_of(previous_end)
            if not store.exists(*_state_path(vid, prev_key)):
                raise dg.Failure(
                    f"{vid} waterfall {key}: the state of the previous period {prev_key} is missing; "
                    f"materialize {vid}/waterfall for {prev_key} first (periods run in order)"
                )
            previous = VehicleState.from_json(
                store.read_bytes(*_state_path(vid, prev_key)).decode()
            )
        perf = store.read_frame(*table_path(vid, "pool_performance", key)).to_dicts()[0]
        pool = measures_from_row(perf)
        ratios = {
            name: (None if perf.get(name) is None else Decimal(perf[name]))
            for name in (t.ratio for t in config.triggers)
            if name in perf
        }
        bb = None
        if config.facility is not None:
            lines = store.read_frame(*table_path(vid, "borrowing_base_lines", key))
            bb = int(lines.filter(pl.col("line") == "borrowing_base")["amount_cents"][0])
        inputs = PeriodInputs(
            period_start=period_end.replace(day=1),
            period_end=period_end,
            previous_period_end=previous_end,
            pool={k: int(v) for k, v in pool.items() if isinstance(v, int)},
            fixings=fixings.table.for_period(config.floating_indices(), period_end.replace(day=1)),
            ratios=ratios,
            borrowing_base_cents=bb,
            draw_policy=config.facility.draw_policy if config.facility else "max_available",
        )
        result = run_waterfall(config, previous, inputs)
        statement = pl.DataFrame([row.to_dict() for row in result.statement])
        triggers = pl.DataFrame(
            [t.to_dict() for t in result.trigger_tests],
            schema={
                "name": pl.String,
                "ratio": pl.String,
                "op": pl.String,
                "threshold": pl.String,
                "value": pl.String,
                "breached": pl.Boolean,
                "effect": pl.String,
            },
        )
        store.write_frame(statement, *table_path(vid, "waterfall_statement", key))
        store.write_frame(triggers, *table_path(vid, "trigger_tests", key))
        store.write_bytes(result.state.to_json().encode(), *_state_path(vid, key))
        store.write_bytes(
            result.opening.to_json().encode(), *table_path(vid, "waterfall_opening", key, "json")
        )
        outcome = waterfall_outcome(vid, key, result)
        return dg.MaterializeResult(
            metadata={
                "status": dg.MetadataValue.text(
                    result.state.status + (" (cash trap)" if result.state.cash_trap else "")
                ),
                "note_balances": dg.MetadataValue.json(result.state.note_balances),
                "reserve": dg.MetadataValue.text(usd(result.state.reserve_cents)),
                "statement": markdown_table(
                    statement.select(
                        "waterfall",
                        "step",
                        "action",
                        "target",
                        "due_cents",
                        "paid_cents",
                        "shortfall_cents",
                        "from_reserve_cents",
                    ),
                    {
                        c: usd
                        for c in (
                            "due_cents",
                            "paid_cents",
                            "shortfall_cents",
                            "from_reserve_cents",
                        )
                    },
                ),
                "trigger_tests": markdown_table(triggers),
            },
            check_results=[to_check_result(outcome, key_)],
        )

    return waterfall


def _certificate_asset(config: VehicleConfig, partitions_def):
    vid = config.id
    key_ = dg.AssetKey([vid, "borrowing_base_certificate"])

    @dg.asset(
        key=key_,
        partitions_def=partitions_def,
        deps=[dg.AssetKey([vid, "borrowing_base"]), dg.AssetKey([vid, "waterfall"])],
        check_specs=check_specs(
            key_,
            [
                (
                    "certificate_ties_to_allocation",
                    "Certificate totals equal sums over the per-account allocation.",
                )
            ],
        ),
        kinds={"polars"},
        group_name=vid,
        description="The borrowing base certificate: eligible balance, each limit's bucket, limit and excess, "
        "advance rate, borrowing base, advances outstanding at period end, availability or deficiency.",
    )
    def borrowing_base_certificate(
        context: dg.AssetExecutionContext, lake: LakeResource
    ) -> dg.MaterializeResult:
        key = context.partition_key
        if (skipped := not_reporting(config, key, "certificate_ties_to_allocation")) is not None:
            return skipped
        store = lake.lake
        lines = store.read_frame(*table_path(vid, "borrowing_base_lines", key))
        allocation = store.read_frame(*table_path(vid, "borrowing_base_allocation", key))
        opening = VehicleState.from_json(
            store.read_bytes(*table_path(vid, "waterfall_opening", key, "json")).decode()
        )
        advances = int(opening.advances_cents or 0)
        bb = int(lines.filter(pl.col("line") == "borrowing_base")["amount_cents"][0])
        position = {
            "advances_outstanding": advances,
            "availability": max(0, bb - advances),
            "deficiency": max(0, advances - bb),
        }
        certificate = lines.with_columns(
            pl.when(pl.col("line").is_in(list(position)))
            .then(pl.col("line").replace_strict(position, default=None, return_dtype=pl.Int64))
            .otherwise(pl.col("amount_cents"))
            .alias("amount_cents")
        )
        store.write_frame(certificate, *table_path(vid, "borrowing_base_certificate", key))
        outcome = _ties_to_allocation(vid, key, certificate, allocation)
        value = {
            r["line"]: r["amount_cents"]
            for r in certificate.filter(
                pl.col("bucket").is_null() | (pl.col("bucket") == "")
            ).to_dicts()
        }
        return dg.MaterializeResult(
            metadata={
                "borrowing_base": dg.MetadataValue.text(usd(bb)),
                "advances_outstanding": dg.MetadataValue.text(usd(advances)),
                "availability": dg.MetadataValue.text(usd(position["availability"])),
                "deficiency": dg.MetadataValue.text(usd(position["deficiency"])),
                "eligible_balance": dg.MetadataValue.text(usd(value.get("eligible_balance"))),
                "certificate": markdown_table(
                    certificate.select(
                        "line_no",
                        "line",
                        "bucket",
                        "bucket_amount_cents",
                        "limit_amount_cents",
                        "amount_cents",
                    ),
                    {c: usd for c in ("bucket_amount_cents", "limit_amount_cents", "amount_cents")},
                ),
            },
            check_results=[to_check_result(outcome, key_)],
        )

    return borrowing_base_certificate


def _ties_to_allocation(
    vid: str, key: str, certificate: pl.DataFrame, allocation: pl.DataFrame
) -> CheckOutcome:
    line = {r["line"]: r["amount_cents"] for r in certificate.to_dicts() if not r.get("bucket")}
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
        f"{vid} {key}: certificate totals "
        + ("equal the per-account allocation" if not off else f"differ: {off}"),
        observed=sums,
        offending=offending_rows(off),
    )
