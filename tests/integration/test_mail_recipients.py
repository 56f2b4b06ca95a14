"""Mail goes to the configured addresses and nowhere else: recipients come
from the address fields (email.headerregistry.Address), never from a parsed
header, so a display name with a comma or an address inside it cannot add or
change a recipient. A real SMTP server on loopback shows the envelope.
Addresses are validated, and line breaks refused, when the config loads."""

from __future__ import annotations

from datetime import date
from email.utils import getaddresses
from pathlib import Path

import pytest
import yaml

from dagster_project.settings import PACKAGE_DIR, Settings
from funding.outputs.delivery import (
    DeliveryConfig,
    DeliveryLedger,
    InvestorConfig,
    Notice,
    deliver_package,
)
from funding.outputs.mail import SmtpMailer
from funding.period import Period
from funding.storage.objects import LocalFolderStore
from funding.vehicle_config import VehicleConfigError, load_vehicle
from tests.support.smtp_server import running_smtp

PENSION = ("Example Pension Fund, L.P.", "fixed-income@pension.example")
TRICKY = ("Mallory <boss@evil.example>", "mallory@investor.example")
QUOTED = ('Desk "A", Inc. <x@evil.example>, boss@evil.example', "desk-a@investor.example")


def notice(_investor) -> Notice:
    return Notice(
        vehicle_name="Demo Trust",
        vehicle_id="trust1",
        period_end=date(2025, 2, 28),
        version=1,
        restates=None,
        reason=None,
        changes=(),
        other_changes=0,
        links={"investor_report.pdf": "https://files.example/trust1/2025-02/v1/report.pdf"},
        links_expire_hours=168,
        location="s3://bucket/trust1/2025-02/v1",
    )


def test_envelope_recipients_are_exactly_the_configured_addresses(tmp_path):
    investors = [InvestorConfig(name=n, email=e) for n, e in (PENSION, TRICKY, QUOTED)]
    with running_smtp() as (url, inbox):
        records = deliver_package(
            config=DeliveryConfig(sender="capital-markets@lender.example"),
            investors=investors,
            notice_for=notice,
            vehicle_id="trust1",
            period=Period(2025, 2),
            version=1,
            ledger=DeliveryLedger(LocalFolderStore(tmp_path / "control")),
            mailer=SmtpMailer(url),
        )
    assert len(records) == 3
    assert [r.recipients for r in inbox.received] == [[PENSION[1]], [TRICKY[1]], [QUOTED[1]]]
    assert {r.sender for r in inbox.received} == {"capital-markets@lender.example"}
    for received, (name, addr) in zip(inbox.received, (PENSION, TRICKY, QUOTED), strict=True):
        (to,) = received.message["To"].addresses  # one address, the configured one
        assert (to.display_name, to.addr_spec) == (name, addr)
        # A reader of the header alone also finds only the configured address.
        assert [a for _, a in getaddresses([str(received.message["To"])])] == [addr]
        assert "evil.example" not in " ".join(received.recipients)


def _trust_with(tmp_path: Path, **investor) -> Path:
    raw = yaml.safe_load((PACKAGE_DIR / "vehicles" / "trust1.yaml").read_text())
    raw["investors"][0].update(investor)
    path = tmp_path / "trust1.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "Demo AM\r\nBcc: boss@evil.example", "investors.0.name"),
        ("name", "Demo AM\nX-Injected: 1", "must not contain line breaks"),
        (
            "email",
            "abs-desk@demo-am.example\r\nBcc: boss@evil.example",
            "must not contain line breaks",
        ),
        ("email", "Boss <boss@evil.example>", "is not an email address"),
        ("email", "a@demo-am.example, boss@evil.example", "is not an email address"),
        ("email", "not-an-address", "is not an email address"),
    ],
)
def test_bad_addresses_and_header_values_are_refused_at_load(tmp_path, field, value, message):
    path = _trust_with(tmp_path, **{field: value})
    with pytest.raises(VehicleConfigError) as error:
        load_vehicle(path)
    text = str(error.value)
    assert str(path) in text and f"investors.0.{field}" in text and message in text


@pytest.mark.parametrize(
    ("block", "value"),
    [
        ({"sender_name": "Capital Markets\r\nBcc: boss@evil.example"}, "sender_name"),
        ({"sender": "cm@lender.example\nBcc: boss@evil.example"}, "sender"),
    ],
)
def test_sender_fields_with_line_breaks_are_refused_at_load(tmp_path, block, value):
    raw = yaml.safe_load((PACKAGE_DIR / "vehicles" / "trust1.yaml").read_text())
    raw["delivery"].update(block)
    path = tmp_path / "trust1.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(VehicleConfigError, match=f"delivery.{value}.*line breaks"):
        load_vehicle(path)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ALERT_TO", "ops@lender.example, Boss <boss@evil.example>", "is not an email address"),
        ("ALERT_TO", "ops@lender.example\r\nBcc: boss@evil.example", "line breaks"),
        ("ALERT_FROM", "funding@lender.example\nBcc: boss@evil.example", "line breaks"),
    ],
)
def test_alert_addresses_are_validated_when_settings_load(tmp_path, name, value, message):
    with pytest.raises(ValueError) as error:
        Settings.from_env({name: value, "FUNDING_VAR_DIR": str(tmp_path)})
    assert name in str(error.value) and message in str(error.value)
