"""The manifest of a package version (outputs.md, "manifest.json"): file
hashes, row counts, the data fingerprint and the JSON form every control
file is written in."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

MANIFEST_FIELDS = ("ledger_cutoff", "code_version", "config_sha256", "control_totals", "checks")
# Fields a package states only when it has them (vehicles with projections).
# `tape_key_fingerprint` is optional only for packages built without a tape key.
OPTIONAL_MANIFEST_FIELDS = ("projections", "tape_key_fingerprint")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def data_digest(file_hashes: Mapping[str, str]) -> str:
    """sha256 over the sorted data files' names and sha256s (`name  hash` lines)."""
    text = "".join(f"{name}  {file_hashes[name]}\n" for name in sorted(file_hashes))
    return sha256_hex(text.encode())


def data_files_digest(data_files: Mapping[str, bytes]) -> str:
    """`data_sha256` of a set of data files, before publishing them."""
    return data_digest({name: sha256_hex(data) for name, data in data_files.items()})


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
            return value.isoformat() + "Z"
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable in a manifest")


def json_bytes(payload: object) -> bytes:
    if _contains_float(payload):
        raise TypeError("manifests hold no floats (money is cents or Decimal text)")
    return (json.dumps(payload, indent=2, sort_keys=True, default=_json_default) + "\n").encode()


def _contains_float(value: object) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, Mapping):
        return any(_contains_float(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_contains_float(v) for v in value)
    return False


def count_rows(name: str, data: bytes) -> int | None:
    """Rows of a tabular file (Parquet metadata; CSV records after the header)."""
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.ParquetFile(io.BytesIO(data)).metadata.num_rows
    if name.endswith(".csv"):
        if b'"' not in data:  # no quoted field can hold a line break
            lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
            return max(lines - 1, 0)
        reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
        return max(sum(1 for _ in reader) - 1, 0)
    return None


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def check_manifest_fields(fields: Mapping[str, Any]) -> None:
    missing = [f for f in MANIFEST_FIELDS if f not in fields]
    extra = [f for f in fields if f not in (*MANIFEST_FIELDS, *OPTIONAL_MANIFEST_FIELDS)]
    if missing or extra:
        raise ValueError(
            f"manifest_fields must be exactly {list(MANIFEST_FIELDS)} "
            f"(and optionally {list(OPTIONAL_MANIFEST_FIELDS)}): missing {missing}, extra {extra}"
        )
    if not isinstance(fields["checks"], Mapping) or not all(
        isinstance(v, bool) for v in fields["checks"].values()
    ):
        raise ValueError("manifest checks must map each check name to passed (bool)")
    totals = fields["control_totals"]
    if not isinstance(totals, Mapping) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in totals.values()
    ):
        raise ValueError("control totals must be integers (cents or counts)")


def file_rows(data_files: Mapping[str, bytes], given: Mapping[str, int]) -> dict[str, int | None]:
    unknown = sorted(set(given) - set(data_files))
    if unknown:
        raise ValueError(f"file_rows names files that are not data files: {unknown}")
    rows = {}
    for name, data in data_files.items():
        counted = count_rows(name, bytes(data))
        if name in given:
            if counted is not None and counted != given[name]:
                raise ValueError(
                    f"{name}: file_rows says {given[name]} rows, the file has {counted}"
                )
            rows[name] = int(given[name])
        else:
            rows[name] = counted
    return rows
