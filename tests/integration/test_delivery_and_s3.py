"""Publication to a real S3-compatible endpoint (moto's server on loopback)
and delivery through a real SMTP server on loopback (aiosmtpd), in real
Dagster runs; and the schedule and sensor that start those runs."""

from __future__ import annotations

import re
import urllib.request
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import pytest

from dagster_project.definitions import build_definitions, resources
from funding.demo import SeedConfig, seed_ledger
from tests.support.dagster_helpers import run_period, settings_for
from tests.support.s3_server import running_s3
from tests.support.smtp_server import running_smtp


@pytest.fixture
def smtp_server():
    with running_smtp() as server:
        yield server


@pytest.fixture
def s3(monkeypatch):
    with running_s3() as endpoint:
        for name, value in endpoint.env().items():
            monkeypatch.setenv(name, value)
        yield endpoint


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    path = tmp_path_factory.mktemp("ledger") / "ledger.sqlite"
    url = f"sqlite:///{path}"
    seed_ledger(url, SeedConfig(accounts=300, months=2))
    return url


def test_packages_go_to_s3_and_investors_get_working_links_once(tmp_path, ledger, s3, smtp_server):
    smtp_url, inbox = smtp_server
    bucket = s3.create_bucket()
    # Everything durable on S3, as runs spread over several hosts need it: the
    # lake, the control records and the packages.
    settings = settings_for(
        tmp_path,
        ledger,
        publish_uri=f"s3://{bucket}/packages",
        lake_uri=f"s3://{bucket}/lake",
        control_uri=f"s3://{bucket}/control",
        smtp_url=smtp_url,
    )
    instance = dg.DagsterInstance.ephemeral()
    for key in ("2025-01", "2025-02"):
        assert run_period(settings, key, instance).success, key
    keys = sorted(o["Key"] for o in s3.client().list_objects_v2(Bucket=bucket)["Contents"])
    assert {
        "lake/receivables_snapshot/2025-02.parquet",
        "lake/wh1/pool_performance/2025-02.parquet",
        "lake/wh1/waterfall_state/2025-02.json",
        "lake/trust1/waterfall_state/2025-02.json",
    } <= set(keys)
    assert not (tmp_path / "lake").exists() and not (tmp_path / "control").exists()
    package = [k for k in keys if k.startswith("packages/wh1/2025-02/")]
    assert package == sorted(
        f"packages/wh1/2025-02/{name}"
        for name in (
            "internal/v1/operations_report.html",  # beside the package, not in it
            "latest.json",
            "v1/borrowing_base.parquet",
            "v1/investor_report.html",
            "v1/investor_report.pdf",
            "v1/loan_tape.csv",
            "v1/loan_tape.parquet",
            "v1/loan_tape_dictionary.csv",
            "v1/manifest.json",
            "v1/pool_performance.parquet",
            "v1/projections.parquet",
            "v1/waterfall.parquet",
        )
    )
    # Encrypted at rest, every object (SSE-S3 unless configured otherwise).
    for key in keys:
        head = s3.client().head_object(Bucket=bucket, Key=key)
        assert head.get("ServerSideEncryption") == "AES256", key
    # One message per investor per period (both vehicles report from 2025-02:
    # wh1 has one investor, trust1 two), with presigned links that work; the
    # envelope holds the configured address and nothing else.
    agent = "agent@firstdemobank.example"
    to_investors = [r for r in inbox.received if r.recipients != list(settings.alert_to)]
    assert len(to_investors) == 3
    (received,) = [r for r in to_investors if r.recipients == [agent]]
    message = received.message
    assert message["To"].endswith(f"<{agent}>")
    assert "2025-02 v1" in message["Subject"]
    body = message.get_content()
    assert "Links are valid for 72 hours." in body
    links = dict(re.findall(r"^\s+(\S+): (http\S+)", body, flags=re.M))
    assert set(links) == {"investor_report.pdf", "loan_tape.csv", "borrowing_base.parquet"}
    for name, link in links.items():
        # The configured 72 hours, in seconds, signed into the link (SigV4).
        assert parse_qs(urlsplit(link).query)["X-Amz-Expires"] == [str(72 * 3600)]
        with urllib.request.urlopen(link, timeout=10) as response:
            fetched = response.read()
        stored = (
            s3.client()
            .get_object(Bucket=bucket, Key=f"packages/wh1/2025-02/v1/{name}")["Body"]
            .read()
        )
        assert fetched == stored
    # A re-run publishes nothing new and sends nothing, investors or alerts.
    sent = len(inbox.received)
    assert run_period(settings, "2025-02", instance).success
    assert len(inbox.received) == sent
    assert len(s3.client().list_objects_v2(Bucket=bucket)["Contents"]) == len(keys)


def test_sensor_and_schedule_start_the_latest_closed_period_once(tmp_path, ledger):
    settings = settings_for(tmp_path, ledger, delivery_business_day=3)
    defs = build_definitions(settings)
    with dg.instance_for_test() as instance:
        _check_automation(defs, settings, instance)


def _check_automation(defs, settings, instance):
    sensor = defs.resolve_sensor_def("period_close_sensor")
    schedule = defs.resolve_schedule_def("monthly_delivery_schedule")
    ledger = {"ledger": resources(settings)["ledger"]}

    # The contexts are closed as they are used: they hold the resources they built.
    def sense():
        with dg.build_sensor_context(instance=instance, resources=ledger) as context:
            return sensor(context)

    def scheduled(moment: datetime):
        with dg.build_schedule_context(
            instance=instance, scheduled_execution_time=moment, resources=ledger
        ) as context:
            return schedule(context)

    request = sense()
    assert isinstance(request, dg.RunRequest) and request.partition_key == "2025-02"

    # 2025-03-05 is the 3rd business day of March 2025; the 4th is not.
    on_day = scheduled(datetime(2025, 3, 5, 6))
    assert isinstance(on_day, dg.RunRequest) and on_day.partition_key == "2025-02"
    assert isinstance(scheduled(datetime(2025, 3, 6, 6)), dg.SkipReason)

    # Once the period has a run (here: of the extraction alone), neither starts it again.
    job = defs.resolve_job_def("monthly_close")
    for key in ("2025-01", "2025-02"):
        job.execute_in_process(
            partition_key=key,
            instance=instance,
            asset_selection=[dg.AssetKey("receivables_snapshot")],
        )
    assert isinstance(sense(), dg.SkipReason)
    again = scheduled(datetime(2025, 3, 5, 6))
    assert isinstance(again, dg.SkipReason) and "already has a run" in again.skip_message
