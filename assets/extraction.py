"""receivables_snapshot: the ledger's state of every account at each closed period."""

import dagster as dg
import polars as pl

from assets.lake_layout import snapshot_meta_path, snapshot_path
from assets.metadata import usd
from checks.dagster_results import check_specs, combined_results
from checks.extraction import EXTRACTION_CHECKS, extraction_checks
from dagster_project.partitions import (
    PREVIOUS_PERIOD,
    partition_key_of,
    period_end_of,
    periods_in_run,
)
from dagster_project.resources import LakeResource, LedgerResource
from funding.extract import extract_snapshot, previous_close, require_close
from funding.ledger import LedgerError

SNAPSHOT_KEY = dg.AssetKey("receivables_snapshot")


def headline(snapshot: pl.DataFrame) -> dict[str, dg.MetadataValue]:
    active = snapshot.filter(pl.col("is_active"))

    def cents(column: str) -> int:
        return int(active[column].sum())

    collections = cents("principal_collections_cents") + cents("finance_charge_collections_cents")
    return {
        "accounts": dg.MetadataValue.int(snapshot.height),
        "active_accounts": dg.MetadataValue.int(active.height),
        "principal": dg.MetadataValue.text(usd(cents("principal_cents"))),
        "total_receivables": dg.MetadataValue.text(usd(cents("total_cents"))),
        "collections": dg.MetadataValue.text(usd(collections)),
    }


def build_snapshot_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=SNAPSHOT_KEY,
        partitions_def=partitions_def,
        deps=[dg.AssetDep(SNAPSHOT_KEY, partition_mapping=PREVIOUS_PERIOD)],
        check_specs=check_specs(SNAPSHOT_KEY, EXTRACTION_CHECKS),
        kinds={"sql", "polars", "parquet"},
        group_name="extraction",
        description=(
            "One row per account and closed period: balances, period flows, terms, score, "
            "delinquency, status and vehicle designation, read from the ledger with the "
            "bitemporal rule of the ledger contract."
        ),
    )
    def receivables_snapshot(
        context: dg.AssetExecutionContext, ledger: LedgerResource, lake: LakeResource
    ) -> dg.MaterializeResult:
        store = lake.lake
        per_period_checks = []
        with ledger.session() as session:
            closes = session.period_closes()
            previous_snapshot = None
            for key in periods_in_run(context):
                close = require_close(closes, period_end_of(key))
                prev = previous_close(closes, close.period_end)
                if prev is not None and previous_snapshot is None:
                    prev_key = partition_key_of(prev.period_end)
                    if not store.exists(*snapshot_path(prev_key)):
                        raise LedgerError(
                            f"receivables_snapshot {key}: the snapshot of the previous closed period "
                            f"{prev_key} is missing from the lake; materialize {prev_key} first"
                        )
                    previous_snapshot = store.read_frame(*snapshot_path(prev_key))
                snapshot = extract_snapshot(session, close, prev, previous_snapshot)
                location = store.write_frame(snapshot, *snapshot_path(key))
                store.write_json(
                    {
                        "period_end": str(close.period_end),
                        "cutoff": close.closed_at.isoformat(sep=" "),
                        "previous_period_end": str(prev.period_end) if prev else None,
                        "previous_cutoff": prev.closed_at.isoformat(sep=" ") if prev else None,
                    },
                    *snapshot_meta_path(key),
                )
                context.log.info(f"{key}: {snapshot.height} accounts -> {location}")
                per_period_checks.append(extraction_checks(session, snapshot, close, prev, closes))
                previous_snapshot = snapshot
        results = combined_results(per_period_checks, SNAPSHOT_KEY)
        return dg.MaterializeResult(
            metadata={
                **headline(snapshot),
                "periods": dg.MetadataValue.text(", ".join(periods_in_run(context))),
                "ledger_cutoff": dg.MetadataValue.text(str(close.closed_at)),
                "ledger": dg.MetadataValue.text(ledger.display_url),
                "path": dg.MetadataValue.path(location),
            },
            check_results=results,
        )

    return receivables_snapshot
