"""Deployment settings: one environment variable per setting, each with an
embedded default under `var/` so the demo needs none of them
(architecture.md, "Deployment settings")."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent


def var_dir() -> Path:
    return Path(os.environ.get("FUNDING_VAR_DIR", PROJECT_ROOT / "var")).resolve()


@dataclass(frozen=True)
class Settings:
    ledger_url: str
    vehicles_dir: Path
    rate_fixings_path: Path
    lake_uri: str
    publish_uri: str
    dagster_home: Path
    first_period: str  # YYYY-MM: the first monthly partition
    tape_key_file: Path = Path()  # where the demo keeps a generated TAPE_HMAC_KEY
    smtp_url: str | None = None
    outbox_dir: Path = Path()
    delivery_business_day: int = (
        5  # the schedule runs the latest closed period on this business day
    )

    @classmethod
    def from_env(cls) -> Settings:
        var = var_dir()
        return cls(
            ledger_url=os.environ.get("LEDGER_URL", f"sqlite:///{var / 'ledger.sqlite'}"),
            vehicles_dir=Path(os.environ.get("VEHICLES_DIR", PACKAGE_DIR / "vehicles")),
            rate_fixings_path=Path(
                os.environ.get("RATE_FIXINGS_PATH", PACKAGE_DIR / "data" / "sofr30a_fixings.csv")
            ),
            lake_uri=os.environ.get("LAKE_URI", str(var / "lake")),
            publish_uri=os.environ.get("PUBLISH_URI", str(var / "publish")),
            dagster_home=Path(os.environ.get("DAGSTER_HOME", var / "dagster")),
            first_period=os.environ.get("FIRST_PERIOD", "2025-01"),
            tape_key_file=var / "tape_hmac_key",
            smtp_url=os.environ.get("SMTP_URL") or None,
            outbox_dir=var / "outbox",
            delivery_business_day=int(os.environ.get("DELIVERY_BUSINESS_DAY", "5")),
        )


def ensure_dagster_home(home: Path) -> Path:
    """Create the instance folder with telemetry off; export DAGSTER_HOME."""
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)
    return home
