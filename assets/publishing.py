"""Per-vehicle publication: the loan tape and the versioned investor package.

`investor_package` reads every table it publishes, the validation's data
quality summary among them, so a failed blocking check anywhere upstream of
a vehicle means no package for that vehicle and period, while other vehicles
carry on.
"""

import dagster as dg

from assets.stage import Step, vehicle_asset
from funding.ledger.restatements import RestatementLog, restatement_reason
from funding.ledger.snapshot import pool_members
from funding.outputs.figures.pool import pool_figures
from funding.outputs.figures.waterfall import (
    Amortization,
    WaterfallPeriod,
    amortization_onset,
    waterfall_figures,
)
from funding.outputs.package import certificate_table, manifest_fields, package_files
from funding.outputs.publish import data_files_digest, latest_manifest, publish_package
from funding.outputs.publish.keys import TapeKeyChanged, require_same_tape_key
from funding.outputs.publish.layout import operations_report_key
from funding.outputs.tape import build_tape, tape_control_totals, tape_parquet_bytes
from funding.storage.tables import (
    BORROWING_BASE_ALLOCATION,
    BORROWING_BASE_CERTIFICATE,
    DATA_QUALITY,
    DELINQUENCY,
    ELIGIBILITY,
    INVESTOR_ALLOCATION,
    LOAN_TAPE,
    NOTE_INTEREST,
    PACKAGE,
    POOL_PERFORMANCE,
    POOL_ROLLFORWARD,
    PROJECTION_SCENARIOS,
    PROJECTIONS,
    ROLL_RATES,
    SNAPSHOT,
    SNAPSHOT_WINDOW,
    STRATIFICATIONS,
    TRENDS,
    TRIGGER_TESTS,
    VINTAGE_CURVES,
    WATERFALL_OPENING,
    WATERFALL_STATE,
    WATERFALL_STATEMENT,
    WATERFALL_SUMMARY,
    WATERFALL_TABLES,
)
from funding.structure.triggers import EARLY_AMORTIZATION
from funding.vehicle_config import VehicleConfig

POOL_TABLES = [
    POOL_PERFORMANCE,
    POOL_ROLLFORWARD,
    DELINQUENCY,
    STRATIFICATIONS,
    VINTAGE_CURVES,
    ROLL_RATES,
    TRENDS,
]
EXCESS_SPREAD_MONTHS = 3
ALL_PERIODS = 10_000


def build_publishing_assets(
    config: VehicleConfig, partitions_def, code_version: str
) -> list[dg.AssetsDefinition]:
    return [_loan_tape(config, partitions_def), _package(config, partitions_def, code_version)]


def _loan_tape(config: VehicleConfig, partitions_def) -> dg.AssetsDefinition:
    eligibility_tables = (
        [ELIGIBILITY, BORROWING_BASE_ALLOCATION] if config.eligibility is not None else []
    )

    @vehicle_asset(
        config,
        "loan_tape",
        partitions_def=partitions_def,
        reads=[SNAPSHOT, *eligibility_tables],
        writes=[LOAN_TAPE],
        resources={"tape_secret"},
        kinds={"polars", "parquet"},
        description=f"Loan tape of {config.name}: one row per pool account, no personal data.",
    )
    def loan_tape(step: Step) -> dg.MaterializeResult:
        pool = pool_members(step.tables.read(SNAPSHOT), config.id)
        eligibility = allocation = None
        if config.eligibility is not None:
            eligibility = step.tables.read(ELIGIBILITY)
            allocation = step.tables.read(BORROWING_BASE_ALLOCATION)
        key = step.resources.tape_secret.key_bytes()
        tape = build_tape(pool, config.id, key, eligibility, allocation)
        step.tables.write(LOAN_TAPE, tape_parquet_bytes(tape))
        return dg.MaterializeResult(
            metadata={
                "rows": dg.MetadataValue.int(tape.height),
                "control_totals": dg.MetadataValue.json(tape_control_totals(tape)),
            }
        )

    return loan_tape


def _package(config: VehicleConfig, partitions_def, code_version: str) -> dg.AssetsDefinition:
    reads = [LOAN_TAPE, *POOL_TABLES, DATA_QUALITY, SNAPSHOT_WINDOW]
    if config.has_notes:
        reads += WATERFALL_TABLES
        reads += [PROJECTIONS, PROJECTION_SCENARIOS]
    if config.facility is not None:
        reads.append(BORROWING_BASE_CERTIFICATE)

    @vehicle_asset(
        config,
        "investor_package",
        partitions_def=partitions_def,
        reads=reads,
        writes=[PACKAGE],
        resources={"publisher", "control", "tape_secret"},
        kinds={"s3", "html", "pdf"},
        description="The versioned investor package (tape, figures, report, manifest) on the "
        "publish target.",
    )
    def investor_package(step: Step) -> dg.MaterializeResult:
        from reports import ReportData, investor_documents

        read = step.tables.read
        data_quality = read(DATA_QUALITY)
        files = package_files(
            read(LOAN_TAPE),
            pool_figures(
                read(POOL_PERFORMANCE).to_dicts()[0],
                read(POOL_ROLLFORWARD),
                read(DELINQUENCY),
                read(STRATIFICATIONS),
                read(VINTAGE_CURVES),
                step.tables.read_optional(ROLL_RATES),
                read(TRENDS),
                data_quality,
            ),
            waterfall_figures(config, _waterfall_period(step, config))
            if config.has_notes
            else None,
            certificate_table(read(BORROWING_BASE_CERTIFICATE))
            if config.facility is not None
            else None,
            read(PROJECTIONS) if config.has_notes else None,
        )
        data_sha256 = data_files_digest(files.data)

        def render_documents(version: int, restatement_note: str | None) -> dict[str, bytes]:
            return investor_documents(
                ReportData(
                    vehicle_id=config.id,
                    vehicle_name=config.name,
                    vehicle_kind=config.kind,
                    period_end=step.period.end,
                    version=version,
                    restates=f"v{version - 1}" if restatement_note else None,
                    restatement_reason=restatement_note,
                    data_sha256=data_sha256,
                    pool_figures=files.pool_figures,
                    waterfall_figures=files.waterfall_figures,
                    borrowing_base=files.certificate,
                    projections=files.projections,
                )
            )

        target = step.resources.publisher.target
        from reports import operations_report_html

        # The tape was made with this key: refuse a key the last package was not made with.
        tape_secret = step.resources.tape_secret
        fingerprint = tape_secret.fingerprint()
        try:
            require_same_tape_key(
                target,
                config.id,
                step.period,
                fingerprint,
                config.first_period,
                rotation=tape_secret.rotation,
            )
        except TapeKeyChanged as exc:
            raise dg.Failure(str(exc)) from None

        cutoff = read(SNAPSHOT_WINDOW)["cutoff"]
        previous = latest_manifest(target, config.id, step.period)
        reason = restatement_reason(
            step.period,
            previous["ledger_cutoff"] if previous else None,
            cutoff,
            RestatementLog(step.resources.control.store).records(),
        )
        result = publish_package(
            target,
            config.id,
            step.period,
            files.data,
            render_documents,
            manifest_fields(
                cutoff,
                code_version,
                config.config_sha256,
                files.tape,
                data_quality,
                read(PROJECTION_SCENARIOS) if config.has_notes else None,
                tape_key_fingerprint=fingerprint,
            ),
            reason,
            given_rows=files.rows,
        )
        step.tables.write(PACKAGE, result.record())
        operations_key = operations_report_key(config.id, step.period, result.version)
        target.write(
            operations_key,
            operations_report_html(
                vehicle_id=config.id,
                vehicle_name=config.name,
                period_end=step.period.end,
                version=result.version,
                data_sha256=data_sha256,
                data_quality=data_quality,
            ).encode("utf-8"),
        )
        report_key = result.keys.get("investor_report.html")
        return dg.MaterializeResult(
            metadata={
                "version": dg.MetadataValue.int(result.version),
                "published": dg.MetadataValue.bool(result.published),
                "restates": dg.MetadataValue.text(result.restates or "-"),
                "report": dg.MetadataValue.url(target.uri(report_key))
                if report_key
                else dg.MetadataValue.text("-"),
                "manifest": dg.MetadataValue.text(target.uri(result.keys["manifest.json"])),
                "operations_report": dg.MetadataValue.text(target.uri(operations_key)),
                "location": dg.MetadataValue.text(result.location),
            }
        )

    return investor_package


def _waterfall_period(step: Step, config: VehicleConfig) -> WaterfallPeriod:
    """The waterfall tables of the period, with the history the report
    needs: three months of excess spread, the balances at closing (the
    first period's opening state) and since when the vehicle amortizes."""
    read = step.tables.read
    states = step.tables.history(WATERFALL_STATE, ALL_PERIODS)
    onset = amortization_onset(states)
    amortization = None
    if onset is not None:
        caused = ()
        if states[-1][1].status == EARLY_AMORTIZATION:
            caused = tuple(
                t["name"]
                for t in read(TRIGGER_TESTS, onset).to_dicts()
                if t["breached"] and t["effect"] == EARLY_AMORTIZATION
            )
        amortization = Amortization(onset, caused)
    first = step.tables.read_optional(WATERFALL_OPENING, config.first_period or step.period)
    opening = read(WATERFALL_OPENING)
    return WaterfallPeriod(
        statement=read(WATERFALL_STATEMENT),
        triggers=read(TRIGGER_TESTS),
        opening=opening,
        closing=read(WATERFALL_STATE),
        summaries=[
            (period, frame.to_dicts()[0])
            for period, frame in step.tables.history(WATERFALL_SUMMARY, EXCESS_SPREAD_MONTHS)
        ],
        allocation=read(INVESTOR_ALLOCATION),
        note_interest=read(NOTE_INTEREST),
        original_balances=(first or opening).note_balances,
        amortization=amortization,
    )
