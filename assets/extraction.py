"""receivables_snapshot: the ledger's state of every account at a closed period."""

import dagster as dg
import polars as pl

from assets.metadata import usd
from assets.stage import SNAPSHOT_KEY
from checks.dagster_results import check_specs, to_check_result
from checks.extraction import EXTRACTION_CHECKS, extraction_checks, ledger_values_valid
from dagster_project.partitions import PREVIOUS_PERIOD, period_of
from funding.ledger.closes import LedgerError, previous_close, require_close
from funding.ledger.database import LedgerUnavailable
from funding.ledger.extract import extract_period
from funding.ledger.restatements import RestatementLog, effective_closes
from funding.storage.lake import SHARED
from funding.storage.tables import SNAPSHOT, SNAPSHOT_WINDOW

LEDGER_RETRIES = 3  # step retries after a lost ledger connection
LEDGER_RETRY_SECONDS = 2.0


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
        required_resource_keys={"ledger", "lake", "control"},
        description=(
            "One row per account and closed period: balances, period flows, terms, score, "
            "delinquency, status and vehicle designation, read from the ledger with the "
            "bitemporal rule of the ledger contract, at the period's cutoff (its close, or a "
            "later restated one)."
        ),
    )
    def receivables_snapshot(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        period = period_of(context.partition_key)
        ledger = context.resources.ledger
        tables = context.resources.lake.lake.tables(
            SHARED,
            period,
            reads=[SNAPSHOT, SNAPSHOT_WINDOW],
            writes=[SNAPSHOT, SNAPSHOT_WINDOW],
            stage="receivables_snapshot",
        )
        restated = RestatementLog(context.resources.control.store).cutoffs()
        try:
            return _extract(context, period, ledger, tables, restated)
        except LedgerUnavailable as exc:
            # A lost connection or a restarting server: the whole read is
            # repeated (a new snapshot), in this run, after a pause.
            context.log.warning(f"{period}: {exc}; retrying the extraction")
            raise dg.RetryRequested(
                max_retries=LEDGER_RETRIES, seconds_to_wait=LEDGER_RETRY_SECONDS
            ) from exc

    return receivables_snapshot


def _extract(context, period, ledger, tables, restated) -> dg.MaterializeResult:
    """One read of the ledger, in one consistent session."""
    with ledger.session() as session:
        closes = session.period_closes()
        # Read at the effective cutoffs: restated ones move a period and its successors.
        effective = effective_closes(closes, restated)
        close = require_close(effective, period)
        prev = previous_close(effective, period)
        previous_snapshot = previous_window = None
        if prev is not None:
            previous_snapshot = tables.read_optional(SNAPSHOT, prev.period)
            if previous_snapshot is None:
                raise LedgerError(
                    f"receivables_snapshot {period}: the snapshot of the previous closed period "
                    f"{prev.period} is missing from the lake; materialize {prev.period} first"
                )
            previous_window = tables.read_optional(SNAPSHOT_WINDOW, prev.period)
        extraction = None
        try:
            extraction = extract_period(session, close, prev, previous_snapshot)
            outcomes, trial_balance = extraction_checks(
                session, extraction, closes, (previous_window or {}).get("trial_balance")
            )
        except LedgerUnavailable:
            raise
        except Exception as exc:
            # A malformed ledger value can break the read or the sums
            # themselves (an amount near the BIGINT limit overflows): name it.
            values = ledger_values_valid(session, close.period_end, extraction)
            if values.passed:
                raise
            raise LedgerError(values.summary) from exc
    snapshot = extraction.snapshot
    location = tables.write(SNAPSHOT, snapshot)
    tables.write(
        SNAPSHOT_WINDOW,
        {
            **extraction.window.record(),
            "trial_balance": trial_balance,
            "window_entries": extraction.lines.entries,
            "window_lines": extraction.lines.lines,
        },
    )
    context.log.info(f"{period}: {snapshot.height} accounts -> {location}")
    return dg.MaterializeResult(
        metadata={
            **headline(snapshot),
            "periods": dg.MetadataValue.text(period.key),
            "ledger_cutoff": dg.MetadataValue.text(str(close.closed_at)),
            "cutoff_restated": dg.MetadataValue.bool(
                close.closed_at != require_close(closes, period).closed_at
            ),
            "ledger": dg.MetadataValue.text(ledger.display_url),
            "path": dg.MetadataValue.path(location),
        },
        check_results=[to_check_result(o, SNAPSHOT_KEY, period) for o in outcomes],
    )
