"""Per-vehicle publication: loan tape, validation gate, investor package, delivery.

`investor_package` depends directly on `validation` (whose blocking checks
gate it) and on every asset whose blocking checks must pass, so a failed
check anywhere upstream of a vehicle means no package for that vehicle and
period, while other vehicles carry on.
"""

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl

from assets.extraction import SNAPSHOT_KEY
from assets.lake_layout import snapshot_meta_path, snapshot_path, table_path
from assets.metadata import markdown_table
from assets.reporting import not_reporting
from checks.dagster_results import check_specs, to_check_result
from checks.validation import (
    VALIDATION_CHECKS,
    continuity_with_published,
    data_quality_summary,
    merge_outcomes,
    tape_ties_to_pool_performance,
)
from dagster_project.partitions import partition_key_of, period_end_of, previous_month_end
from dagster_project.resources import LakeResource, MailResource, PublisherResource, TapeKeyResource
from funding.data_quality import GUARD_NAMES
from funding.delivery import DeliveryRecord, already_delivered, compose_message, log_line, send
from funding.lake import parquet_bytes
from funding.package import certificate_table, pool_figures, waterfall_figures
from funding.snapshot import pool_members
from funding.tape import build_tape, tape_control_totals, tape_csv_bytes, tape_parquet_bytes
from funding.vehicle_config import VehicleConfig


def code_version() -> str:
    from dagster_project.settings import PROJECT_ROOT

    head = PROJECT_ROOT / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            ref = (PROJECT_ROOT / ".git" / ref[5:]).read_text().strip()
        return f"0.1.0+g{ref[:12]}"
    except OSError:
        return "0.1.0"


def build_publishing_assets(
    config: VehicleConfig, partitions_def, vehicles_dir: Path
) -> list[dg.AssetsDefinition]:
    vid = config.id
    tape_key = dg.AssetKey([vid, "loan_tape"])
    validation_key = dg.AssetKey([vid, "validation"])
    package_key = dg.AssetKey([vid, "investor_package"])
    delivery_key = dg.AssetKey([vid, "delivery"])
    upstream = [dg.AssetKey([vid, "pool_performance"]), dg.AssetKey([vid, "analytics"])]
    if config.has_notes:
        upstream.append(dg.AssetKey([vid, "waterfall"]))
    if config.facility is not None:
        upstream.append(dg.AssetKey([vid, "borrowing_base_certificate"]))
    tape_deps = [SNAPSHOT_KEY]
    if config.eligibility is not None:
        tape_deps += [dg.AssetKey([vid, "eligibility"]), dg.AssetKey([vid, "borrowing_base"])]
    validation_checks = [
        *VALIDATION_CHECKS,
        *(
            (g, f"Distribution guard {g} (warns unless listed in blocking_guards).")
            for g in GUARD_NAMES
        ),
    ]
    check_names = [name for name, _ in validation_checks]

    @dg.asset(
        key=tape_key,
        partitions_def=partitions_def,
        deps=tape_deps,
        kinds={"polars", "parquet"},
        group_name=vid,
        description=f"Loan tape of {config.name}: one row per pool account, no personal data.",
    )
    def loan_tape(
        context: dg.AssetExecutionContext, lake: LakeResource, tape_key: TapeKeyResource
    ) -> dg.MaterializeResult:
        key = context.partition_key
        if (skipped := not_reporting(config, key)) is not None:
            return skipped
        store = lake.lake
        pool = pool_members(store.read_frame(*snapshot_path(key)), vid)
        eligibility = allocation = None
        if config.eligibility is not None:
            eligibility = store.read_frame(*table_path(vid, "eligibility", key))
            allocation = store.read_frame(*table_path(vid, "borrowing_base_allocation", key))
        tape = build_tape(pool, vid, tape_key.key_bytes(context.log), eligibility, allocation)
        store.write_bytes(tape_parquet_bytes(tape), *table_path(vid, "loan_tape", key))
        totals = tape_control_totals(tape)
        return dg.MaterializeResult(
            metadata={
                "rows": dg.MetadataValue.int(tape.height),
                "control_totals": dg.MetadataValue.json(totals),
            }
        )

    @dg.asset(
        key=validation_key,
        partitions_def=partitions_def,
        deps=[tape_key, *upstream, SNAPSHOT_KEY],
        check_specs=check_specs(validation_key, validation_checks),
        kinds={"great_expectations"},
        group_name=vid,
        description="Expectation suites on the pool's snapshot rows and the loan tape, reconciliations of the "
        "tape to pool performance and of this period's beginning to the last published ending, distribution "
        "guards, and the data quality summary the report and manifest use.",
    )
    def validation(
        context: dg.AssetExecutionContext, lake: LakeResource, publisher: PublisherResource
    ) -> dg.MaterializeResult:
        key = context.partition_key
        if (skipped := not_reporting(config, key, *check_names)) is not None:
            return skipped
        from checks.expectations import distribution_guards, run_suite, snapshot_suite, tape_suite

        store = lake.lake
        label = f"{vid} {key}"
        pool = pool_members(store.read_frame(*snapshot_path(key)), vid)
        tape = pl.read_parquet(store.read_bytes(*table_path(vid, "loan_tape", key)))
        previous_key = partition_key_of(previous_month_end(period_end_of(key)))
        previous_pool = None
        if config.reports(period_end_of(previous_key)) and store.exists(
            *snapshot_path(previous_key)
        ):
            previous_pool = pool_members(store.read_frame(*snapshot_path(previous_key)), vid)
        performance = store.read_frame(*table_path(vid, "pool_performance", key)).to_dicts()[0]
        snapshot_outcomes = run_suite(pool, snapshot_suite(), "account_id", label)
        tape_outcomes = run_suite(
            tape, tape_suite(eligibility=config.eligibility is not None), "account_ref", label
        )
        reconciliations = [
            tape_ties_to_pool_performance(label, tape, performance),
            continuity_with_published(label, publisher.target, vid, previous_key, performance),
        ]
        guards = distribution_guards(pool, previous_pool, config.data_quality, label)
        checks = [
            merge_outcomes("snapshot_expectations", snapshot_outcomes, blocking=True),
            merge_outcomes("snapshot_warnings", snapshot_outcomes, blocking=False),
            merge_outcomes("tape_expectations", tape_outcomes, blocking=True),
            merge_outcomes("tape_warnings", tape_outcomes, blocking=False),
            *reconciliations,
            *guards,
        ]
        summary = data_quality_summary(
            [
                *_prefixed("snapshot", snapshot_outcomes),
                *_prefixed("tape", tape_outcomes),
                *reconciliations,
                *guards,
            ]
        )
        store.write_frame(summary, *table_path(vid, "data_quality", key))
        results = [to_check_result(o, validation_key) for o in checks]
        return dg.MaterializeResult(
            metadata={"data_quality": markdown_table(summary)},
            check_results=results,
        )

    @dg.asset(
        key=package_key,
        partitions_def=partitions_def,
        deps=[validation_key, tape_key, *upstream],
        kinds={"s3", "html", "pdf"},
        group_name=vid,
        description="The versioned investor package (tape, figures, report, manifest) on the publish target.",
    )
    def investor_package(
        context: dg.AssetExecutionContext, lake: LakeResource, publisher: PublisherResource
    ) -> dg.MaterializeResult:
        key = context.partition_key
        if (skipped := not_reporting(config, key)) is not None:
            return skipped
        from funding.publish import data_files_digest, publish_package
        from reports import ReportData, render_html, render_pdf

        store = lake.lake
        period_end = period_end_of(key)
        # The tape's Parquet is published exactly as the loan_tape asset wrote it.
        tape_parquet = store.read_bytes(*table_path(vid, "loan_tape", key))
        tape = pl.read_parquet(tape_parquet)
        figures = _pool_figures(store, vid, key)
        data_files = {
            "loan_tape.parquet": tape_parquet,
            "loan_tape.csv": tape_csv_bytes(tape),
            "pool_performance.parquet": parquet_bytes(figures),
        }
        rows = {
            "loan_tape.parquet": tape.height,
            "loan_tape.csv": tape.height,
            "pool_performance.parquet": figures.height,
        }
        waterfall = certificate = None
        if config.has_notes:
            waterfall = _waterfall_figures(store, config, key)
            data_files["waterfall.parquet"] = parquet_bytes(waterfall)
            rows["waterfall.parquet"] = waterfall.height
        if config.facility is not None:
            certificate = certificate_table(
                store.read_frame(*table_path(vid, "borrowing_base_certificate", key))
            )
            data_files["borrowing_base.parquet"] = parquet_bytes(certificate)
            rows["borrowing_base.parquet"] = certificate.height
        data_sha256 = data_files_digest(data_files)

        def render_documents(version: int, restatement_note: str | None) -> dict[str, bytes]:
            report = ReportData(
                vehicle_id=vid,
                vehicle_name=config.name,
                vehicle_kind=config.kind,
                period_end=period_end,
                version=version,
                restates=f"v{version - 1}" if restatement_note else None,
                restatement_reason=restatement_note,
                data_sha256=data_sha256,
                pool_figures=figures,
                waterfall_figures=waterfall,
                borrowing_base=certificate,
            )
            html = render_html(report)
            return {
                "investor_report.html": html.encode("utf-8"),
                "investor_report.pdf": render_pdf(html),
            }

        meta = store.read_json(*snapshot_meta_path(key))
        summary = store.read_frame(*table_path(vid, "data_quality", key))
        result = publish_package(
            publisher.target,
            vid,
            period_end,
            data_files,
            render_documents,
            manifest_fields={
                "ledger_cutoff": meta["cutoff"],
                "code_version": code_version(),
                "config_sha256": hashlib.sha256(
                    (vehicles_dir / f"{vid}.yaml").read_bytes()
                ).hexdigest(),
                "control_totals": tape_control_totals(tape),
                "checks": {r["check"]: r["result"] == "passed" for r in summary.to_dicts()},
            },
            reason=None,
            file_rows=rows,
        )
        record = {
            "version": result.version,
            "published": result.published,
            "files": result.keys,
            "restates": result.restates,
            "location": result.location,
        }
        store.write_json(record, *table_path(vid, "package", key, "json"))
        report_key = result.keys.get("investor_report.html")
        return dg.MaterializeResult(
            metadata={
                "version": dg.MetadataValue.int(result.version),
                "published": dg.MetadataValue.bool(result.published),
                "restates": dg.MetadataValue.text(result.restates or "-"),
                "report": dg.MetadataValue.url(publisher.target.uri(report_key))
                if report_key
                else dg.MetadataValue.text("-"),
                "manifest": dg.MetadataValue.text(
                    publisher.target.uri(result.keys["manifest.json"])
                ),
                "location": dg.MetadataValue.text(result.location),
            }
        )

    @dg.asset(
        key=delivery_key,
        partitions_def=partitions_def,
        deps=[package_key],
        kinds={"email"},
        group_name=vid,
        description="Sends each investor of the vehicle the package's links, once per version.",
    )
    def delivery(
        context: dg.AssetExecutionContext,
        lake: LakeResource,
        publisher: PublisherResource,
        mail: MailResource,
    ) -> dg.MaterializeResult:
        key = context.partition_key
        if (skipped := not_reporting(config, key)) is not None:
            return skipped
        store = lake.lake
        package = store.read_json(*table_path(vid, "package", key, "json"))
        log_path = table_path(vid, "deliveries", key, "jsonl")
        log = (
            [json.loads(line) for line in store.read_bytes(*log_path).decode().splitlines() if line]
            if store.exists(*log_path)
            else []
        )
        expiry = config.delivery.link_expiry_hours
        sent = []
        for investor in config.investors:
            if already_delivered(log, investor.email, package["version"]):
                continue
            links = {
                name: publisher.target.link(package["files"][name], expiry * 3600)
                for name in investor.files
                if name in package["files"]
            }
            message = compose_message(
                config.delivery.sender,
                investor,
                config.name,
                vid,
                period_end_of(key),
                package["version"],
                links,
                expiry,
                package.get("restates"),
            )
            transport = send(message, mail.smtp_url or None, Path(mail.outbox))
            record = DeliveryRecord(
                investor.name,
                investor.email,
                vid,
                key,
                package["version"],
                datetime.now(UTC).isoformat(timespec="seconds"),
                message["Message-ID"],
                transport,
            )
            log.append(json.loads(log_line(record)))
            sent.append(record)
            # Written after every message, so a crash never re-sends what went out.
            store.write_bytes(
                "".join(json.dumps(r, sort_keys=True) + "\n" for r in log).encode(), *log_path
            )
        return dg.MaterializeResult(
            metadata={
                "version": dg.MetadataValue.int(package["version"]),
                "sent": dg.MetadataValue.int(len(sent)),
                "recipients": dg.MetadataValue.text(
                    ", ".join(r.email for r in sent) or "none (already delivered)"
                ),
            }
        )

    return [loan_tape, validation, investor_package, delivery]


def _prefixed(prefix: str, outcomes):
    from dataclasses import replace

    return [replace(o, name=f"{prefix}.{o.name}") for o in outcomes]


def _pool_figures(store, vid: str, key: str) -> pl.DataFrame:
    def read(table: str) -> pl.DataFrame | None:
        path = table_path(vid, table, key)
        return store.read_frame(*path) if store.exists(*path) else None

    return pool_figures(
        read("pool_performance").to_dicts()[0],
        read("pool_rollforward"),
        read("delinquency"),
        read("stratifications"),
        read("vintage_curves"),
        read("roll_rates"),
        read("trends"),
        read("data_quality"),
    )


def _waterfall_figures(store, config: VehicleConfig, key: str) -> pl.DataFrame:
    vid = config.id
    return waterfall_figures(
        store.read_frame(*table_path(vid, "waterfall_statement", key)),
        store.read_frame(*table_path(vid, "trigger_tests", key)),
        store.read_json(*table_path(vid, "waterfall_opening", key, "json")),
        store.read_json(*table_path(vid, "waterfall_state", key, "json")),
        {note.class_: note.initial_balance_cents for note in config.notes},
    )
