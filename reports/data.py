"""What the investor report is rendered from: the package's published frames
plus the package's identity (vehicle, period, version, fingerprint)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from funding.outputs.figures.frame import FIGURE_SCHEMA, UNITS
from funding.projections.table import PROJECTIONS_SCHEMA

VEHICLE_KINDS = ("warehouse", "trust", "portfolio")
CERTIFICATE_COLUMNS = (
    "line_no",
    "line",
    "bucket",
    "pct",
    "bucket_amount",
    "limit_amount",
    "amount",
)


@dataclass(frozen=True)
class ReportData:
    """One investor report.

    `pool_figures` and `waterfall_figures` are the frames of
    `pool_performance.parquet` and `waterfall.parquet` (FIGURE_SCHEMA);
    `borrowing_base` is the certificate (line_no, line, bucket, pct in
    percent points, bucket_amount, limit_amount, amount). `data_sha256` is
    the fingerprint of the package's data files shown in the header.
    """

    vehicle_id: str
    vehicle_name: str
    vehicle_kind: str
    period_end: date
    version: int
    restates: str | None
    restatement_reason: str | None
    data_sha256: str
    pool_figures: pl.DataFrame
    waterfall_figures: pl.DataFrame | None = None
    borrowing_base: pl.DataFrame | None = None
    # projections.parquet (funding/projections/table.py): scenario, month, measure, value
    projections: pl.DataFrame | None = None

    def __post_init__(self) -> None:
        if self.vehicle_kind not in VEHICLE_KINDS:
            raise ValueError(
                f"vehicle_kind must be one of {VEHICLE_KINDS}, not {self.vehicle_kind!r}"
            )
        if self.version < 1:
            raise ValueError(f"version must be at least 1, not {self.version}")
        _check_figures("pool_figures", self.pool_figures)
        if self.waterfall_figures is not None:
            _check_figures("waterfall_figures", self.waterfall_figures)
        if self.borrowing_base is not None:
            missing = [c for c in CERTIFICATE_COLUMNS if c not in self.borrowing_base.columns]
            if missing:
                raise ValueError(f"borrowing_base lacks columns {missing}")
        if self.projections is not None:
            missing = [c for c in PROJECTIONS_SCHEMA if c not in self.projections.columns]
            if missing:
                raise ValueError(f"projections lacks columns {missing}")


def _check_figures(name: str, frame: pl.DataFrame) -> None:
    missing = [c for c in FIGURE_SCHEMA if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks figure columns {missing}")
    units = set(frame["unit"].unique().to_list()) - set(UNITS)
    if units:
        raise ValueError(f"{name} has unknown units {sorted(map(str, units))}")
    duplicated = frame.select("section", "row", "column").is_duplicated()
    if duplicated.any():
        first = frame.filter(duplicated).row(0, named=True)
        raise ValueError(
            f"{name} has more than one figure for section {first['section']!r}, "
            f"row {first['row']!r}, column {first['column']!r}"
        )
