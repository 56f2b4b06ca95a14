"""Every asset of every vehicle in real Dagster runs, period after period, on
a generated ledger: all checks pass, the borrowing base certificate ties to
its per-account allocation, waterfall state carries across periods, each
vehicle and period gets a published package whose report prints the
package's Parquet figures (every section, new ones included) with tables
that foot, an internal operations report beside it, investors are notified
once per version, and a re-run gives identical bytes and publishes and sends
nothing new."""

from __future__ import annotations

import json
import shutil

import dagster as dg
import polars as pl
import pytest

from funding.demo import SeedConfig, seed_ledger
from tests.support.dagster_helpers import (
    check_results,
    failure_text,
    materialized,
    run_period,
    settings_for,
)

# The closing month, then four reporting months: enough for the 3-month averages
# and the projections back-test (P-3 to P) to be defined in the last ones.
PERIODS = [f"2025-{m:02d}" for m in range(1, 6)]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    url = f"sqlite:///{root / 'ledger.sqlite'}"
    seed_ledger(url, SeedConfig(accounts=600, months=5))
    settings = settings_for(root, url)
    instance = dg.DagsterInstance.ephemeral()
    results = {key: run_period(settings, key, instance) for key in PERIODS}
    return root, settings, instance, results


def test_every_period_succeeds_with_every_check_passing(pipeline):
    _, _, _, results = pipeline
    for key, result in results.items():
        assert result.success, (key, failure_text(result))
        checks = check_results(result)
        assert "portfolio/pool_performance:pool_rollforward" in checks
        failed = {k: e.description for k, e in checks.items() if not e.passed}
        assert not failed, (key, failed)  # warnings included: the demo ledger is healthy
        vehicle_checks = {
            "wh1/waterfall:waterfall_invariants",
            "wh1/pool_performance:pool_rollforward",
            "wh1/borrowing_base_certificate:certificate_ties_to_allocation",
            "wh1/projections:projection_backtest",
            "wh1/validation:tape_expectations",
            "trust1/validation:continuity_with_published",
            "trust1/validation:pool_balance_change",
            "trust1/projections:projection_backtest",
        }
        vehicle_assets = {
            "wh1/borrowing_base_certificate",
            "wh1/investor_package",
            "trust1/waterfall",
            "trust1/delivery",
            "trust1/investor_package",
        }
        if key >= "2025-02":  # both vehicles report from 2025-02; January is their closing
            assert vehicle_checks <= set(checks), key
            assert vehicle_assets | {"portfolio/analytics"} <= materialized(result), key
        else:  # months before the first period are not shown as published
            assert not any(a.startswith(("wh1/", "trust1/")) for a in materialized(result)), key


def test_certificate_totals_equal_the_per_account_table(pipeline):
    root = pipeline[0]
    for key in PERIODS[1:]:  # wh1 reports from 2025-02
        certificate = pl.read_parquet(
            root / "lake" / "wh1" / "borrowing_base_certificate" / f"{key}.parquet"
        )
        allocation = pl.read_parquet(
            root / "lake" / "wh1" / "borrowing_base_allocation" / f"{key}.parquet"
        )
        line = {r["line"]: r["amount_cents"] for r in certificate.to_dicts() if not r["bucket"]}
        eligible = allocation.filter(pl.col("is_eligible"))
        assert line["eligible_balance"] == eligible["principal_cents"].sum()
        assert line["excess_concentration"] == allocation["excess_concentration_cents"].sum()
        limits = certificate.filter(pl.col("bucket_amount_cents").is_not_null())
        assert line["excess_concentration"] == limits["amount_cents"].sum()
        assert line["borrowing_base"] <= line["commitment"]
        assert line["availability"] * line["deficiency"] == 0


def test_waterfall_state_carries_from_period_to_period(pipeline):
    root = pipeline[0]
    lake = root / "lake"
    trust_periods = [k for k in PERIODS if k >= "2025-02"]
    for before, after in zip(trust_periods, trust_periods[1:], strict=False):
        closing = json.loads((lake / "trust1" / "waterfall_state" / f"{before}.json").read_text())
        opening = json.loads((lake / "trust1" / "waterfall_opening" / f"{after}.json").read_text())
        assert opening["note_balances"] == closing["note_balances"]
        assert opening["reserve_cents"] == closing["reserve_cents"]
    # Nothing is computed for the trust before its first reporting period.
    assert not (lake / "trust1" / "waterfall_state" / "2025-01.json").exists()


def test_rerunning_a_period_gives_identical_outputs(pipeline):
    root, settings, instance, _ = pipeline
    files = [
        root / "lake" / "wh1" / "waterfall_state" / "2025-05.json",
        root / "lake" / "wh1" / "borrowing_base_certificate" / "2025-05.parquet",
        root / "lake" / "trust1" / "waterfall_statement" / "2025-05.parquet",
        root / "lake" / "portfolio" / "pool_performance" / "2025-05.parquet",
    ]
    before = [f.read_bytes() for f in files]
    assert run_period(settings, "2025-05", instance).success
    assert [f.read_bytes() for f in files] == before


def test_waterfall_without_its_previous_period_names_it(tmp_path, pipeline):
    root, settings, _, _ = pipeline
    fresh = settings_for(tmp_path, settings.ledger_url)
    # The extraction of 2025-04 needs 2025-03's snapshot; provide the lake up to the snapshot only.
    shutil.copytree(
        root / "lake" / "receivables_snapshot", tmp_path / "lake" / "receivables_snapshot"
    )
    result = run_period(fresh, "2025-05", dg.DagsterInstance.ephemeral())
    assert not result.success
    assert "state of the previous period 2025-04 is missing" in failure_text(result)


def test_analytics_read_only_this_and_the_previous_snapshot(tmp_path, pipeline):
    """Flat in the ledger's age: with the previous period's vintage basis in
    the lake, a period's analytics read its own snapshot and the previous
    one (roll rates). The older snapshots deleted, they write the same
    tables, vintage curves included."""
    root, settings, _, _ = pipeline
    lake = tmp_path / "lake"
    shutil.copytree(root / "lake", lake)
    for key in PERIODS[:-2]:
        (lake / "receivables_snapshot" / f"{key}.parquet").unlink()
    entities = ("portfolio", "wh1", "trust1")
    result = run_period(
        settings_for(tmp_path, settings.ledger_url),
        PERIODS[-1],
        dg.DagsterInstance.ephemeral(),
        assets=[f"{e}/analytics" for e in entities],
    )
    assert result.success, failure_text(result)
    for entity in entities:
        for table in ("vintage_curves", "vintage_contributions", "origination_limits"):
            name = f"{entity}/{table}/{PERIODS[-1]}.parquet"
            assert (lake / name).read_bytes() == (root / "lake" / name).read_bytes(), name


def test_each_vehicle_and_period_has_a_published_package(pipeline):
    root = pipeline[0]
    publish = root / "publish"
    for vehicle, first in (("wh1", "2025-02"), ("trust1", "2025-02")):
        for key in PERIODS:
            latest = publish / vehicle / key / "latest.json"
            assert latest.exists() == (key >= first), (vehicle, key)
        files = sorted(p.name for p in (publish / vehicle / "2025-05" / "v1").iterdir())
        expected = [
            "investor_report.html",
            "investor_report.pdf",
            "loan_tape.csv",
            "loan_tape.parquet",
            "loan_tape_dictionary.csv",
            "manifest.json",
            "pool_performance.parquet",
            "projections.parquet",
            "waterfall.parquet",
        ]
        if vehicle == "wh1":
            expected.append("borrowing_base.parquet")
        assert files == sorted(expected)
        manifest = json.loads((publish / vehicle / "2025-05" / "v1" / "manifest.json").read_text())
        assert manifest["version"] == 1 and manifest["restates"] is None
        assert all(manifest["checks"].values()), manifest["checks"]
        projections = manifest["projections"]
        assert projections["start_period"] == "2025-05" and projections["horizon_months"] == 24
        assert [s["name"] for s in projections["scenarios"]] == ["base", "stress"]
        assert all(len(s["parameters_sha256"]) == 64 for s in projections["scenarios"])
        assert manifest["files"]["loan_tape_dictionary.csv"]["rows"] == len(
            pl.read_parquet(publish / vehicle / "2025-05" / "v1" / "loan_tape.parquet").columns
        )


@pytest.mark.parametrize("vehicle", ["trust1", "wh1"])
def test_report_prints_the_packages_parquet_figures(pipeline, vehicle):
    from tests.reports.test_projections_section import expected_text, projection_cells
    from tests.reports.test_report import expected_figures, parse, rollforwards

    package = pipeline[0] / "publish" / vehicle / "2025-05" / "v1"
    html = (package / "investor_report.html").read_text()
    cells = dict(parse(html).figures)
    pool = pl.read_parquet(package / "pool_performance.parquet")
    waterfall = pl.read_parquet(package / "waterfall.parquet")
    expected = expected_figures(pool, "pool_performance") | expected_figures(waterfall, "waterfall")
    assert cells == expected
    sections = set(waterfall["section"])
    common = {
        "note_terms",
        "notes",
        "status",
        "statement_interest",
        "statement_principal",
        "triggers",
    }
    trust_only = {
        "invested",
        "allocation_percentage",
        "allocation",
        "seller_interest",
        "excess_spread",
        "reserve",
    }
    if vehicle == "trust1":
        assert common | trust_only <= sections
    else:
        assert common | {"statement_facility"} <= sections and not trust_only & sections
    assert {"data_quality", "trend", "ratios", "delinquency"} <= set(pool["section"])
    # every roll-forward of the report foots: pool, notes (and the trust's reserve)
    found = rollforwards(html)
    assert len(found) >= 4 and [f for f in found if f[1] != f[2]] == []
    # the full check table is not the investor's
    assert "snapshot.keys_not_null" not in html
    projections = pl.read_parquet(package / "projections.parquet")
    printed = projection_cells(html)
    assert {measure for (_, _, measure, _), _ in printed} >= {"summary.horizon_months"}
    for key, text in printed:
        assert text == expected_text(projections, key), key


def test_every_page_of_the_published_pdf_has_body_text_and_ink(pipeline, tmp_path):
    import subprocess

    from tests.reports.test_report import _ink, pages_without_body

    package = pipeline[0] / "publish" / "trust1" / "2025-05" / "v1"
    html = (package / "investor_report.html").read_text()
    pdf = (package / "investor_report.pdf").read_bytes()
    assert pages_without_body(html, pdf, tmp_path) == []
    subprocess.run(
        ["pdftoppm", "-r", "30", "-png", str(package / "investor_report.pdf"), str(tmp_path / "p")],
        check=True,
        capture_output=True,
    )
    images = sorted(tmp_path.glob("p*.png"))
    assert len(images) > 5 and all(_ink(image)[0] > 0.002 for image in images)


def test_an_internal_operations_report_is_published_beside_each_package(pipeline):
    publish = pipeline[0] / "publish"
    for vehicle in ("wh1", "trust1"):
        report = publish / vehicle / "2025-05" / "internal" / "v1" / "operations_report.html"
        text = report.read_text()
        assert "Internal: not for investors" in text and "snapshot.keys_not_null" in text
        manifest = json.loads((publish / vehicle / "2025-05" / "v1" / "manifest.json").read_text())
        assert "operations_report.html" not in manifest["files"]
    outbox = pipeline[0] / "var" / "outbox"
    assert not any("operations_report" in m.read_text() for m in outbox.glob("*.eml"))


def test_investors_are_notified_once_per_version(pipeline):
    root, settings, instance, _ = pipeline
    outbox = root / "var" / "outbox"
    messages = sorted(outbox.glob("*.eml"))
    # wh1: one investor x 4 periods; trust1: two investors x 4 periods (both from 2025-02)
    assert len(messages) == 4 + 2 * 4
    text = messages[0].read_text()
    assert "investor package" in text and "/v1/" in text
    assert run_period(settings, "2025-05", instance).success
    assert len(sorted(outbox.glob("*.eml"))) == len(messages)
    record = json.loads((root / "lake" / "trust1" / "package" / "2025-05.json").read_text())
    assert record["version"] == 1 and record["published"] is False
