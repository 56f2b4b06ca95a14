"""Two runs of the same period and vehicle, in two real processes started
together, each publishing the package and then notifying the investors
through a real SMTP server on loopback: exactly one new version, and exactly
one message per investor, addressed to the configured address only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from funding.outputs.delivery import DeliveryLedger
from funding.outputs.publish import verify_package, versions
from funding.storage.objects import LocalFolderStore, S3Store
from tests.funding.outputs import test_publish as base
from tests.funding.outputs.test_publish import (
    BASE,
    PERIOD,
    ROOT,
    VEHICLE,
    env_for,
    location,
    spec_keys,
    tape_of,
    write_package,
)
from tests.support.smtp_server import running_smtp

s3_endpoint, s3_bucket, target, pool = base.s3_endpoint, base.s3_bucket, base.target, base.pool

INVESTORS = [
    {"name": "Example Pension Fund", "email": "ops@pension.example"},
    {"name": "Agent Bank", "email": "agent@bank.example"},
]

RUN = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from funding.outputs.delivery import (
        DeliveryConfig, DeliveryLedger, InvestorConfig, Notice, deliver_package,
    )
    from funding.outputs.mail import mailer_for
    from funding.outputs.publish import publish_package
    from funding.period import Period
    from funding.storage.objects import store_for

    where, control, folder, smtp_url = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
    spec = json.loads((folder / "spec.json").read_text())
    data = {name: (folder / name).read_bytes() for name in spec["data"]}
    investors = [InvestorConfig(**i) for i in json.loads(sys.argv[5])]

    def render(version, note):
        page = f"<html><body>v{version} {note or ''}</body></html>".encode()
        return {"investor_report.html": page, "investor_report.pdf": b"%PDF-1.7 " + page}

    target, period = store_for(where), Period.parse(spec["period"])
    (folder / f"ready-{sys.argv[6]}").touch()
    while not (folder / "go").exists():
        time.sleep(0.002)
    result = publish_package(
        target, spec["vehicle"], period, data, render, spec["fields"], None, spec["rows"]
    )
    notice = lambda investor: Notice(
        vehicle_name="Warehouse 1", vehicle_id=spec["vehicle"], period_end=period.end,
        version=result.version, restates=None, reason=None, changes=[], other_changes=0,
        links={n: target.link(k, 3600) for n, k in result.keys.items() if n in investor.files},
        links_expire_hours=1 if target.links_expire else None, location=result.location,
    )
    sent = deliver_package(
        config=DeliveryConfig(), investors=investors, notice_for=notice,
        vehicle_id=spec["vehicle"], period=period, version=result.version,
        ledger=DeliveryLedger(store_for(control)), mailer=mailer_for(smtp_url, folder / "outbox"),
    )
    print(json.dumps({"version": result.version, "published": result.published,
                      "sent": [r.email for r in sent]}))
    """
)


def control_location(target, tmp_path: Path) -> str:
    if isinstance(target, S3Store):
        return f"s3://{target.bucket}/control"
    return str(tmp_path / "control")


def test_two_runs_started_together_publish_once_and_mail_each_investor_once(
    target, pool, tmp_path, request
):
    folder = write_package(tmp_path / "package", tape_of(pool))
    control = control_location(target, tmp_path)
    with running_smtp() as (smtp_url, inbox):
        processes = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    RUN,
                    location(target),
                    control,
                    str(folder),
                    smtp_url,
                    json.dumps(INVESTORS),
                    str(i),
                ],
                cwd=ROOT,
                env={**os.environ, **env_for(target, request), "PYTHONPATH": str(ROOT)},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(2)
        ]
        deadline = time.monotonic() + 120
        while len(list(folder.glob("ready-*"))) < 2 and time.monotonic() < deadline:
            if any(p.poll() is not None for p in processes):
                break
            time.sleep(0.01)
        (folder / "go").touch()
        outputs = [p.communicate(timeout=120) for p in processes]
        assert [p.returncode for p in processes] == [0, 0], [err for _, err in outputs]
        received = list(inbox.received)

    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    # One new version, published by exactly one of the two.
    assert [r["version"] for r in results] == [1, 1]
    assert sorted(r["published"] for r in results) == [False, True]
    assert versions(target, VEHICLE, PERIOD) == [1]
    assert target.list("") == spec_keys(1)
    assert verify_package(target, VEHICLE, PERIOD) == []

    # One message per investor, to exactly the configured address.
    expected = sorted(i["email"] for i in INVESTORS)
    assert sorted(e for r in results for e in r["sent"]) == expected
    assert sorted(tuple(m.recipients) for m in received) == [(e,) for e in expected]
    for message in received:
        assert f"{BASE[4:]} v1" in message.message["Subject"]  # "2025-03 v1"
    store = S3Store(control, client=target.client) if isinstance(target, S3Store) else None
    ledger = DeliveryLedger(store or LocalFolderStore(control))
    assert sorted(r.email for r in ledger.sent(VEHICLE, PERIOD)) == expected
    assert ledger.unconfirmed(VEHICLE, PERIOD) == []
