"""The internal operations report of a package: every data quality check of
the period (the investor report carries only a short statement of them).
One self-contained HTML file, published beside the package and never
delivered to investors."""

from __future__ import annotations

from datetime import date

import polars as pl

from reports.render import MONTH_NAMES, environment

TEMPLATE = "operations.html.j2"


def operations_report_html(
    *,
    vehicle_id: str,
    vehicle_name: str,
    period_end: date,
    version: int,
    data_sha256: str,
    data_quality: pl.DataFrame,
) -> str:
    """The report of the validation gate's `data_quality` table (check,
    severity, result, observed, threshold and, when recorded, summary)."""
    checks = [{"summary": "", **row} for row in data_quality.fill_null("").iter_rows(named=True)]
    blocking = [c for c in checks if c["severity"] == "ERROR"]
    warnings = [c for c in checks if c["severity"] != "ERROR"]
    counts = {
        "blocking_passed": sum(c["result"] == "passed" for c in blocking),
        "blocking_failed": sum(c["result"] != "passed" for c in blocking),
        "warnings_passed": sum(c["result"] == "passed" for c in warnings),
        "warnings_raised": sum(c["result"] != "passed" for c in warnings),
    }
    return (
        environment()
        .get_template(TEMPLATE)
        .render(
            vehicle_id=vehicle_id,
            vehicle_name=vehicle_name,
            period_label=f"{MONTH_NAMES[period_end.month - 1]} {period_end.year}",
            version=f"v{version}",
            data_sha256=data_sha256,
            counts=counts,
            checks=checks,
        )
    )
