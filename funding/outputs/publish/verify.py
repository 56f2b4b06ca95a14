"""Checking a published package against its manifest (`funding verify`)."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from funding.outputs.publish.layout import (
    LATEST,
    MANIFEST,
    VERSION_DIR,
    is_data_file,
    package_prefix,
    version_key,
    versions,
)
from funding.outputs.publish.manifest import count_rows, data_digest
from funding.outputs.publish.protocol import loads
from funding.period import Period
from funding.storage.objects import ObjectStore, store_for


def verify_package(
    target: ObjectStore, vehicle_id: str, period: Period, version: int | None = None
) -> list[str]:
    """Problems of a published package against its manifest (empty = sound).

    Checks each file's presence, size, SHA-256 (hashlib.sha256) and row count (Parquet
    metadata, CSV records), files not in the manifest, the manifest's
    data_sha256, and that latest.json points at the latest manifest.
    """
    key_period = period.key
    problems: list[str] = []
    published = versions(target, vehicle_id, period)
    if not published:
        return [f"{vehicle_id} {key_period}: no published version"]
    if version is None:
        version = published[-1]
    where = f"{vehicle_id} {key_period} v{version}"
    raw = target.read(version_key(vehicle_id, period, version, MANIFEST))
    if raw is None:
        return [f"{where}: no manifest"]
    try:
        manifest = json.loads(raw)
    except ValueError:
        return [f"{where}: manifest.json is not JSON"]

    for name, value in (("vehicle_id", vehicle_id), ("version", version)):
        if manifest.get(name) != value:
            problems.append(
                f"{where}: manifest {name} is {manifest.get(name)!r}, expected {value!r}"
            )
    if not str(manifest.get("period_end", "")).startswith(key_period):
        problems.append(
            f"{where}: manifest period_end {manifest.get('period_end')!r} is not in {key_period}"
        )
    files = manifest.get("files") or {}
    for name in sorted(files):
        entry = files[name]
        data = target.read(version_key(vehicle_id, period, version, name))
        if data is None:
            problems.append(f"{where}: {name} is missing")
            continue
        if len(data) != entry.get("bytes"):
            problems.append(
                f"{where}: {name} has {len(data)} bytes, manifest says {entry.get('bytes')}"
            )
        actual = hashlib.sha256(data).hexdigest()  # the algorithm itself, not our helper
        if actual != entry.get("sha256"):
            problems.append(
                f"{where}: {name} sha256 {actual} differs from the manifest's {entry.get('sha256')}"
            )
        if is_data_file(name) and entry.get("rows") is None:
            problems.append(f"{where}: data file {name} has no row count in the manifest")
        if entry.get("rows") is not None:
            try:
                counted = count_rows(name, data)
            except Exception as exc:  # a damaged file cannot be counted
                problems.append(f"{where}: {name} cannot be read ({exc})")
                continue
            if counted is not None and counted != entry["rows"]:
                problems.append(
                    f"{where}: {name} has {counted} rows, manifest says {entry['rows']}"
                )
    stored = set(_names_in(target, vehicle_id, period, version))
    for name in sorted(stored - set(files) - {MANIFEST}):
        problems.append(f"{where}: {name} is not in the manifest")
    data_hashes = {n: e.get("sha256") for n, e in files.items() if is_data_file(n)}
    if manifest.get("data_sha256") != data_digest(data_hashes):
        problems.append(f"{where}: data_sha256 does not match the data files' hashes")
    latest = loads(target.read(f"{package_prefix(vehicle_id, period)}/{LATEST}") or b"{}")
    if latest.get("version") != published[-1]:
        problems.append(
            f"{vehicle_id} {key_period}: latest.json points at "
            f"{latest.get('version')!r}, not v{published[-1]}"
        )
    elif version == published[-1] and latest.get("sha256") != hashlib.sha256(raw).hexdigest():
        problems.append(
            f"{vehicle_id} {key_period}: latest.json sha256 does not match v{version}/manifest.json"
        )
    return problems


def _names_in(target: ObjectStore, vehicle_id: str, period: Period, version: int) -> list[str]:
    prefix = version_key(vehicle_id, period, version, "")
    return [key[len(prefix) :] for key in target.list(prefix)]


def verify_location(uri: str, client: Any = None) -> list[str]:
    """`verify_package` for a package location as a person types it:
    `{root}/{vehicle_id}/{YYYY-MM}` (the latest version) or
    `{root}/{vehicle_id}/{YYYY-MM}/v{N}`, where root is a folder or s3://bucket/prefix
    (a trailing `/manifest.json` or `/latest.json` is accepted)."""
    text = uri.rstrip("/")
    for suffix in (f"/{MANIFEST}", f"/{LATEST}"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    parts = text.split("/")
    version = None
    if parts and VERSION_DIR.match(parts[-1]):
        version = int(parts.pop()[1:])
    if len(parts) < 3 or not re.fullmatch(r"\d{4}-\d{2}", parts[-1]):
        raise ValueError(f"{uri!r} is not a package location: expected ROOT/VEHICLE/YYYY-MM[/vN]")
    period, vehicle_id = Period.parse(parts[-1]), parts[-2]
    root = "/".join(parts[:-2]) or "/"
    if root == "s3:/":
        raise ValueError(f"{uri!r} has no bucket")
    if root.startswith("s3://") and root.count("/") == 2:
        root += "/"
    return verify_package(store_for(root, client=client), vehicle_id, period, version)
