"""Deployment settings: one environment variable per setting, each with an
embedded default under `var/` so the demo needs none of them
(architecture.md, "Deployment settings"). They are read once, at the edge
(the CLI, the code location), and passed down; nothing writes them back.
Secrets are not settings: resources read them through `EnvVar`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from funding.outputs.delivery import mail_address
from funding.period import Period

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_FIRST_PERIOD = "2025-01"


def var_dir(environ: Mapping[str, str]) -> Path:
    """Where the embedded defaults live: `FUNDING_VAR_DIR`, else `var/` in the
    working directory (the project folder for `make` and `dagster dev`)."""
    return Path(environ.get("FUNDING_VAR_DIR") or Path.cwd() / "var").resolve()


def require_folder_uri(name: str, uri: str) -> str:
    """A storage setting (`LAKE_URI`, `PUBLISH_URI`, `CONTROL_URI`) that names
    a local path must be a folder, or not exist yet; the error names the setting."""
    text = str(uri)
    if text.startswith("s3://"):
        return text
    path = Path(text[len("file://") :] if text.startswith("file://") else text)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{name}={text!r} is a file, not a folder: point {name} at a folder")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(
                    f"{name}={text!r}: {parent} is a file, not a folder: point {name} at a folder"
                )
            break
    return text


@dataclass(frozen=True)
class Settings:
    ledger_url: str
    vehicles_dir: Path
    rate_fixings_path: Path
    lake_uri: str
    publish_uri: str
    dagster_home: Path
    first_period: Period  # the first monthly partition
    control_uri: str = ""  # durable control records: restated cutoffs, deliveries, alerts
    tape_key_file: Path = Path()  # where the demo keeps its generated TAPE_HMAC_KEY
    smtp_url: str | None = None
    outbox_dir: Path = Path()
    delivery_business_day: int = 5  # the schedule runs the latest closed period on this day
    alert_to: tuple[str, ...] = ("capital-markets-ops@lender.example",)  # ALERT_TO, comma-separated
    alert_from: str = "funding-platform@lender.example"
    demo: bool = False  # FUNDING_DEMO=1: the embedded demo, with its generated tape key
    tape_key_in_env: bool = False  # TAPE_HMAC_KEY is set (its value is read by the resource)
    tape_key_rotation: bool = False  # TAPE_KEY_ROTATION=1: a deliberate change of TAPE_HMAC_KEY
    git_sha: str | None = None  # GIT_SHA, set when the code was built from a checkout

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        var = var_dir(env)
        return cls(
            ledger_url=env.get("LEDGER_URL") or f"sqlite:///{var / 'ledger.sqlite'}",
            vehicles_dir=Path(env.get("VEHICLES_DIR") or PACKAGE_DIR / "vehicles"),
            rate_fixings_path=Path(
                env.get("RATE_FIXINGS_PATH") or PACKAGE_DIR / "data" / "sofr30a_fixings.csv"
            ),
            lake_uri=require_folder_uri("LAKE_URI", env.get("LAKE_URI") or str(var / "lake")),
            publish_uri=require_folder_uri(
                "PUBLISH_URI", env.get("PUBLISH_URI") or str(var / "publish")
            ),
            dagster_home=Path(env.get("DAGSTER_HOME") or var / "dagster"),
            first_period=Period.parse(env.get("FIRST_PERIOD") or DEFAULT_FIRST_PERIOD),
            control_uri=require_folder_uri(
                "CONTROL_URI", env.get("CONTROL_URI") or str(var / "control")
            ),
            tape_key_file=var / "tape_hmac_key",
            smtp_url=env.get("SMTP_URL") or None,
            outbox_dir=var / "outbox",
            delivery_business_day=int(env.get("DELIVERY_BUSINESS_DAY") or "5"),
            alert_to=tuple(
                mail_address(a.strip(), "ALERT_TO address")
                for a in (env.get("ALERT_TO") or "capital-markets-ops@lender.example").split(",")
                if a.strip()
            ),
            alert_from=mail_address(
                env.get("ALERT_FROM") or "funding-platform@lender.example", "ALERT_FROM"
            ),
            demo=env.get("FUNDING_DEMO") == "1",
            tape_key_in_env=bool(env.get("TAPE_HMAC_KEY")),
            tape_key_rotation=env.get("TAPE_KEY_ROTATION") == "1",
            git_sha=env.get("GIT_SHA") or None,
        )


def code_version(settings: Settings) -> str:
    """The installed package's version, with the commit it was built from when known."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        base = version("funding-platform")
    except PackageNotFoundError:  # running from a source tree that was never installed
        base = "0+unknown"
    return f"{base}+g{settings.git_sha[:12]}" if settings.git_sha else base


def instance_for(settings: Settings) -> dg.DagsterInstance:
    """The Dagster instance in DAGSTER_HOME, created with telemetry off if new."""
    from dagster_project.warmup import relax_embedded_instance_commits

    home = settings.dagster_home.resolve()
    relax_embedded_instance_commits(home)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    return dg.DagsterInstance.from_config(str(home))
