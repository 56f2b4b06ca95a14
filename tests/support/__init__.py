"""Test support: real servers (PostgreSQL, S3), ledger and snapshot builders,
and helpers for running the code location."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
