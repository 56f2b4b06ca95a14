"""The contents of an investor package: its data files and manifest fields.

`pool_performance.parquet` holds every pool figure the report shows and
`waterfall.parquet` every waterfall figure, built by `funding.outputs.figures`
(`funding.outputs.figures.frame` explains the long format);
`borrowing_base.parquet` is the certificate itself; `loan_tape_dictionary.csv`
describes the tape's columns.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import polars as pl

from funding.outputs.figures.frame import cents_to_amount
from funding.outputs.tape import (
    DICTIONARY_FILE,
    tape_control_totals,
    tape_csv_bytes,
    tape_dictionary_csv,
)
from funding.storage.lake import parquet_bytes


def certificate_table(certificate: pl.DataFrame) -> pl.DataFrame:
    """The borrowing base certificate with money as DECIMAL(18,2)."""
    return certificate.select(
        "line_no",
        "line",
        pl.col("bucket").fill_null(""),
        pl.col("pct").cast(pl.Decimal(38, 2)),
        cents_to_amount(pl.col("bucket_amount_cents")).alias("bucket_amount"),
        cents_to_amount(pl.col("limit_amount_cents")).alias("limit_amount"),
        cents_to_amount(pl.col("amount_cents")).alias("amount"),
    )


@dataclass(frozen=True)
class PackageFiles:
    """The data files of a package (outputs.md layout) and their row counts."""

    data: dict[str, bytes]
    rows: dict[str, int]
    tape: pl.DataFrame
    pool_figures: pl.DataFrame
    waterfall_figures: pl.DataFrame | None
    certificate: pl.DataFrame | None
    projections: pl.DataFrame | None = None


def package_files(
    tape_parquet: bytes,
    pool: pl.DataFrame,
    waterfall: pl.DataFrame | None,
    certificate: pl.DataFrame | None,
    projections: pl.DataFrame | None = None,
) -> PackageFiles:
    """The data files of a package. The tape's Parquet is published exactly
    as the loan tape stage wrote it; its CSV is made from the same frame, and
    its dictionary from the column definitions the tape is built from."""
    tape = pl.read_parquet(io.BytesIO(tape_parquet))
    dictionary = tape_dictionary_csv(tape)
    data = {
        "loan_tape.parquet": tape_parquet,
        "loan_tape.csv": tape_csv_bytes(tape),
        DICTIONARY_FILE: dictionary,
        "pool_performance.parquet": parquet_bytes(pool),
    }
    rows = {
        "loan_tape.parquet": tape.height,
        "loan_tape.csv": tape.height,
        DICTIONARY_FILE: tape.width,
        "pool_performance.parquet": pool.height,
    }
    if waterfall is not None:
        data["waterfall.parquet"] = parquet_bytes(waterfall)
        rows["waterfall.parquet"] = waterfall.height
    if certificate is not None:
        data["borrowing_base.parquet"] = parquet_bytes(certificate)
        rows["borrowing_base.parquet"] = certificate.height
    if projections is not None:  # funding/projections/table.py: scenario, month, measure, value
        data["projections.parquet"] = parquet_bytes(projections)
        rows["projections.parquet"] = projections.height
    return PackageFiles(data, rows, tape, pool, waterfall, certificate, projections)


def manifest_fields(
    ledger_cutoff: str,
    code_version: str,
    config_sha256: str,
    tape: pl.DataFrame,
    data_quality: pl.DataFrame,
    projections: dict[str, object] | None = None,
    tape_key_fingerprint: str | None = None,
) -> dict[str, object]:
    """The manifest fields a package states besides its files (outputs.md);
    `projections` lists the projected scenarios and their parameters' hash;
    `tape_key_fingerprint` tells which TAPE_HMAC_KEY made the account_refs."""
    fields: dict[str, object] = {
        "ledger_cutoff": ledger_cutoff,
        "code_version": code_version,
        "config_sha256": config_sha256,
        "control_totals": tape_control_totals(tape),
        "checks": {r["check"]: r["result"] == "passed" for r in data_quality.to_dicts()},
    }
    if projections is not None:
        fields["projections"] = projections
    if tape_key_fingerprint is not None:
        fields["tape_key_fingerprint"] = tape_key_fingerprint
    return fields
