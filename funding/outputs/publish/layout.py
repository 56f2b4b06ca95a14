"""Where a package lives on the publish target (outputs.md): each version
in `{vehicle_id}/{YYYY-MM}/v{N}/`, visible once its `manifest.json`
exists, with `{vehicle_id}/{YYYY-MM}/latest.json` pointing at it."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from funding.period import Period
from funding.storage.objects import ObjectStore

MANIFEST = "manifest.json"
LATEST = "latest.json"
CLAIM = "_claim.json"
TAPE_PARQUET = "loan_tape.parquet"
OPERATIONS_REPORT = "operations_report.html"
RESERVED_NAMES = frozenset({MANIFEST, LATEST, CLAIM})
DATA_SUFFIXES = (".parquet", ".csv")

VERSION_DIR = re.compile(r"^v([1-9][0-9]*)$")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def package_prefix(vehicle_id: str, period: Period) -> str:
    if not SAFE_NAME.match(vehicle_id):
        raise ValueError(f"vehicle id {vehicle_id!r} is not a safe key")
    return f"{vehicle_id}/{period.key}"


def version_key(vehicle_id: str, period: Period, version: int, name: str) -> str:
    return f"{package_prefix(vehicle_id, period)}/v{version}/{name}"


def operations_report_key(vehicle_id: str, period: Period, version: int) -> str:
    """Where the internal operations report of a version is published: beside
    the package, not in it (`{vehicle_id}/{YYYY-MM}/internal/v{N}/`), so it is
    neither in the manifest nor delivered to investors."""
    return f"{package_prefix(vehicle_id, period)}/internal/v{version}/{OPERATIONS_REPORT}"


def versions(target: ObjectStore, vehicle_id: str, period: Period) -> list[int]:
    """Published versions (those with a manifest), ascending."""
    base = package_prefix(vehicle_id, period) + "/"
    found = []
    for key in target.list(base):
        parts = key[len(base) :].split("/")
        if len(parts) == 2 and parts[1] == MANIFEST and (m := VERSION_DIR.match(parts[0])):
            found.append(int(m.group(1)))
    return sorted(found)


def latest_version(target: ObjectStore, vehicle_id: str, period: Period) -> int | None:
    found = versions(target, vehicle_id, period)
    return found[-1] if found else None


def read_manifest(
    target: ObjectStore, vehicle_id: str, period: Period, version: int
) -> dict | None:
    data = target.read(version_key(vehicle_id, period, version, MANIFEST))
    return None if data is None else json.loads(data)


def latest_manifest(target: ObjectStore, vehicle_id: str, period: Period) -> dict | None:
    """The manifest `latest.json` points at, or None before the first version."""
    pointer = target.read(f"{package_prefix(vehicle_id, period)}/{LATEST}")
    if pointer is None:
        return None
    name = json.loads(pointer)["manifest"]
    data = target.read(f"{package_prefix(vehicle_id, period)}/{name}")
    return None if data is None else json.loads(data)


def is_data_file(name: str) -> bool:
    """Data files are the tabular ones (Parquet, CSV); every other file is a document."""
    return name.endswith(DATA_SUFFIXES)


def check_file_names(files: Mapping[str, bytes], what: str = "data file") -> list[str]:
    if not files and what == "data file":
        raise ValueError("a package needs at least one data file")
    for name, data in files.items():
        if not SAFE_NAME.match(name) or name in RESERVED_NAMES or name.startswith("_"):
            raise ValueError(f"{what} name {name!r} is not allowed in a package")
        if is_data_file(name) != (what == "data file"):
            raise ValueError(
                f"{what} {name!r}: data files are exactly the {' and '.join(DATA_SUFFIXES)} files"
            )
        if not isinstance(data, bytes | bytearray):
            raise TypeError(f"{what} {name!r} must be bytes")
    return sorted(files)
