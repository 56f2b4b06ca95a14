"""Versioned publishing of investor packages (outputs.md, "Versions and restatements").

The publish target is an object store (`funding.storage.objects`: a local
folder or an S3 prefix). A package lives at `{vehicle_id}/{YYYY-MM}/v{N}/`
and is visible only once its `manifest.json` exists;
`{vehicle_id}/{YYYY-MM}/latest.json` then points at it (`layout`).

Concurrency and crashes (`publish_package`):

1. A publisher claims version N by creating `v{N}/_claim.json` (write only if
   absent: S3 `If-None-Match: *`, locally an exclusive hard link) holding the
   hash of its data files.
2. A claim with the same data hash is shared: completing a crashed or
   concurrent identical publish writes the same data bytes, and documents are
   created only if absent, so every participant describes the same stored bytes.
3. A claim with other data and no manifest is a conflict (`PublishConflict`),
   unless it is older than `stale_after_seconds`: then exactly one publisher
   wins `v{N}/_takeover-{hash of that claim}.json`, clears the partial
   version and rewrites the claim (publishers of the same data wait for it).
4. The manifest is created only if absent, after every file; an existing
   manifest with the same data hash means the version is done.
5. `latest.json` only moves forward (re-read after each write), then the
   claim keys go, and so do temporary files a killed writer left in the
   version's folder, leaving exactly the spec'd keys.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from funding.outputs.publish.diff import CERTIFICATE_FILE, FIGURE_FILES, package_diff
from funding.outputs.publish.layout import (
    CLAIM,
    LATEST,
    MANIFEST,
    TAPE_PARQUET,
    check_file_names,
    is_data_file,
    latest_version,
    package_prefix,
    read_manifest,
    version_key,
)
from funding.outputs.publish.manifest import (
    MANIFEST_FIELDS,
    OPTIONAL_MANIFEST_FIELDS,
    check_manifest_fields,
    data_digest,
    file_rows,
    iso,
    json_bytes,
    parse_iso,
    sha256_hex,
    utc_now,
)
from funding.period import Period
from funding.storage.objects import ObjectStore

DEFAULT_STALE_AFTER_SECONDS = 900


class PublishConflict(RuntimeError):
    """Another publisher holds the version with different data."""

    def __init__(self, vehicle_id: str, period: Period, version: int, detail: str):
        super().__init__(f"cannot publish {vehicle_id} {period} v{version}: {detail}")
        self.vehicle_id = vehicle_id
        self.period_key = str(period)
        self.version = version


# --------------------------------------------------------------------------- publishing


@dataclass(frozen=True)
class PublishResult:
    """The outcome of `publish_package`.

    `published` is True when this call created the version's manifest; False
    when the data equalled the latest version's (nothing written) or a
    concurrent identical publish created it first.
    """

    vehicle_id: str
    period_key: str
    version: int
    published: bool
    manifest: dict
    manifest_sha256: str
    keys: dict[str, str] = field(default_factory=dict)  # file name -> key (manifest included)
    location: str = ""  # the version folder's URI

    @property
    def restates(self) -> str | None:
        return self.manifest.get("restates")

    @property
    def reason(self) -> str | None:
        return self.manifest.get("reason")

    def record(self) -> dict[str, Any]:
        """What the lake keeps of a publication (delivery reads it)."""
        diff = self.manifest.get("diff") or {}
        return {
            "version": self.version,
            "published": self.published,
            "files": self.keys,
            "restates": self.restates,
            "reason": self.reason,
            "location": self.location,
            "figures_changed": diff.get("figures_changed", []),
            "other_figures_changed": diff.get("other_figures_changed", 0),
        }


def publish_package(
    target: ObjectStore,
    vehicle_id: str,
    period: Period,
    data_files: Mapping[str, bytes],
    render_documents: Callable[[int, str | None], Mapping[str, bytes]],
    manifest_fields: Mapping[str, Any],
    reason: str | None = None,
    given_rows: Mapping[str, int] | None = None,
    *,
    stale_after_seconds: float = DEFAULT_STALE_AFTER_SECONDS,
    clock: Callable[[], datetime] = utc_now,
) -> PublishResult:
    """Publish one package version (or nothing, when the data is unchanged).

    `data_files` are the byte-deterministic files (tape Parquet/CSV, figure
    Parquet): they decide whether anything changed. `render_documents(version,
    restatement_note)` renders the documents (investor report HTML/PDF) for
    the version being written; the note is None for v1, else
    "Restates v{N}: {reason}". `manifest_fields` supplies ledger_cutoff,
    code_version, config_sha256, control_totals and checks. `given_rows`
    gives row counts of tabular files (checked against the bytes; counted
    when absent).
    """
    check_manifest_fields(manifest_fields)
    names = check_file_names(data_files)
    rows = file_rows(data_files, given_rows or {})
    hashes = {name: sha256_hex(data_files[name]) for name in names}
    digest = data_digest(hashes)
    base = package_prefix(vehicle_id, period)
    period_end_text = period.end.isoformat()

    version = latest_version(target, vehicle_id, period)
    while True:
        if version is not None:
            previous = _require_manifest(target, vehicle_id, period, version)
            if previous.get("data_sha256") == digest:
                _advance_latest(target, vehicle_id, period)
                _remove_claims(target, base, version)
                return _result(target, vehicle_id, period, version, previous, published=False)
        new = 1 if version is None else version + 1
        outcome = _publish_version(
            target,
            vehicle_id,
            period,
            period_end_text,
            new,
            data_files,
            hashes,
            digest,
            rows,
            render_documents,
            manifest_fields,
            reason,
            stale_after_seconds,
            clock,
        )
        if outcome is not None:
            return outcome
        # Another publisher completed v{new} with other data: restate it.
        version = new


def _require_manifest(target: ObjectStore, vehicle_id: str, period: Period, version: int) -> dict:
    manifest = read_manifest(target, vehicle_id, period, version)
    if manifest is None:
        raise RuntimeError(f"{vehicle_id} {period} v{version}: manifest disappeared")
    return manifest


def _claim_payload(digest: str, hashes: Mapping[str, str], owner: str, now: datetime) -> bytes:
    return json_bytes(
        {"data_sha256": digest, "files": dict(hashes), "owner": owner, "claimed_at": iso(now)}
    )


def _is_stale(payload: Mapping, now: datetime, stale_after_seconds: float) -> bool:
    try:
        claimed = parse_iso(str(payload["claimed_at"]))
    except (KeyError, ValueError):
        return True
    return (now - claimed).total_seconds() > stale_after_seconds


def _acquire(
    target: ObjectStore,
    vehicle_id: str,
    period: Period,
    version: int,
    digest: str,
    hashes: Mapping[str, str],
    owner: str,
    stale_after_seconds: float,
    clock: Callable[[], datetime],
    wait_seconds: float = 60.0,
) -> None:
    """Hold v{version} for data `digest` (alone, or shared with identical publishes)."""
    claim_key = version_key(vehicle_id, period, version, CLAIM)
    deadline = time.monotonic() + wait_seconds
    while True:
        if target.create(claim_key, _claim_payload(digest, hashes, owner, clock())):
            return
        existing = target.read(claim_key)
        if existing is None:
            continue  # released in between: try again
        payload = loads(existing)
        if payload.get("data_sha256") == digest:
            return
        if read_manifest(target, vehicle_id, period, version) is not None:
            return  # the caller sees the manifest and moves on
        if not _is_stale(payload, clock(), stale_after_seconds):
            raise PublishConflict(
                vehicle_id,
                period,
                version,
                f"another publish with different data holds it since {payload.get('claimed_at')} "
                f"(claim {target.uri(claim_key)}); "
                f"it becomes stale after {stale_after_seconds:.0f} s",
            )
        # Exactly one publisher takes over this particular stale claim.
        takeover_key = version_key(
            vehicle_id, period, version, f"_takeover-{sha256_hex(existing)[:16]}.json"
        )
        if target.create(takeover_key, _claim_payload(digest, hashes, owner, clock())):
            # Clear the partial version first, then claim it: publishers of
            # our data wait for the claim, so none of their files is cleared.
            prefix = version_key(vehicle_id, period, version, "")
            for key in target.list(prefix):
                if key not in (claim_key, takeover_key):
                    target.delete(key)
            target.sweep(prefix)
            target.write(claim_key, _claim_payload(digest, hashes, owner, clock()))
            return
        held = loads(target.read(takeover_key) or b"{}")
        if not held:
            continue  # the taker finished (or gave up) in between: look again
        if _is_stale(held, clock(), stale_after_seconds):
            target.delete(takeover_key)  # the taker died before claiming
            continue
        if held.get("data_sha256") != digest:
            raise PublishConflict(
                vehicle_id, period, version, "another publisher is taking over a stale claim"
            )
        if time.monotonic() > deadline:
            raise PublishConflict(
                vehicle_id, period, version, "a takeover of a stale claim did not finish"
            )
        time.sleep(0.1)  # a publisher of the same data is taking over: wait for its claim


def loads(data: bytes) -> dict:
    try:
        payload = json.loads(data)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _publish_version(
    target: ObjectStore,
    vehicle_id: str,
    period: Period,
    period_end_text: str,
    version: int,
    data_files: Mapping[str, bytes],
    hashes: Mapping[str, str],
    digest: str,
    rows: Mapping[str, int | None],
    render_documents: Callable[[int, str | None], Mapping[str, bytes]],
    manifest_fields: Mapping[str, Any],
    reason: str | None,
    stale_after_seconds: float,
    clock: Callable[[], datetime],
) -> PublishResult | None:
    """Write v{version}; None if it turned out to be published with other data."""
    base = package_prefix(vehicle_id, period)
    owner = uuid.uuid4().hex
    _acquire(target, vehicle_id, period, version, digest, hashes, owner, stale_after_seconds, clock)

    existing = read_manifest(target, vehicle_id, period, version)
    if existing is not None:
        if existing.get("data_sha256") != digest:
            _release_own_claim(target, vehicle_id, period, version, owner)
        return _settle(target, vehicle_id, period, version, existing, digest, published=False)

    restates = f"v{version - 1}" if version > 1 else None
    previous = _require_manifest(target, vehicle_id, period, version - 1) if restates else None
    if previous is not None:
        old_data = {n: f["sha256"] for n, f in previous.get("files", {}).items() if is_data_file(n)}
        changed = sorted(n for n in set(hashes) | set(old_data) if hashes.get(n) != old_data.get(n))
        reason = reason or f"outputs changed since {restates}: {', '.join(changed)}"
        note = f"Restates {restates}: {reason}"
    else:
        reason = reason or "first publication"
        note = None

    documents = dict(render_documents(version, note))
    check_file_names(documents, what="document")
    clash = sorted(set(documents) & set(data_files))
    if clash:
        raise ValueError(f"documents and data files share names: {clash}")

    files: dict[str, dict] = {}
    for name in sorted(data_files):
        data = bytes(data_files[name])
        stored = _create_or_read(target, version_key(vehicle_id, period, version, name), data)
        if stored is not None and sha256_hex(stored) != hashes[name]:
            raise PublishConflict(
                vehicle_id, period, version, f"{name} is already stored with other bytes"
            )
        files[name] = {"sha256": hashes[name], "bytes": len(data), "rows": rows[name]}
    for name in sorted(documents):
        data = bytes(documents[name])
        # A crashed or concurrent identical publish may have rendered it
        # first: keep the stored bytes, so the manifest describes what is there.
        stored = _create_or_read(target, version_key(vehicle_id, period, version, name), data)
        data = data if stored is None else stored
        files[name] = {"sha256": sha256_hex(data), "bytes": len(data), "rows": None}

    diff = None
    if previous is not None:
        before = {
            name: target.read(version_key(vehicle_id, period, version - 1, name))
            for name in (*FIGURE_FILES, CERTIFICATE_FILE, TAPE_PARQUET)
        }
        diff = package_diff(before, dict(data_files), restates)

    manifest = {
        "vehicle_id": vehicle_id,
        "period_end": period_end_text,
        "version": version,
        "restates": restates,
        "reason": reason,
        **{name: manifest_fields[name] for name in MANIFEST_FIELDS},
        **{n: manifest_fields[n] for n in OPTIONAL_MANIFEST_FIELDS if n in manifest_fields},
        "files": files,
        "data_sha256": digest,
        "diff": diff,
        "created_at": iso(clock()),
    }
    claim = loads(target.read(version_key(vehicle_id, period, version, CLAIM)) or b"{}")
    if claim and claim.get("data_sha256") != digest:
        raise PublishConflict(
            vehicle_id, period, version, "the claim was taken over while publishing"
        )
    manifest_bytes = json_bytes(manifest)
    if target.create(version_key(vehicle_id, period, version, MANIFEST), manifest_bytes):
        _advance_latest(target, vehicle_id, period)
        _remove_claims(target, base, version)
        return _result(target, vehicle_id, period, version, manifest, published=True)
    existing = _require_manifest(target, vehicle_id, period, version)
    return _settle(target, vehicle_id, period, version, existing, digest, published=False)


def _create_or_read(target: ObjectStore, key: str, data: bytes) -> bytes | None:
    """Create `key`; None if created, else the bytes already stored there."""
    for _ in range(5):
        if target.create(key, data):
            return None
        stored = target.read(key)
        if stored is not None:
            return stored
    raise RuntimeError(f"{target.uri(key)} keeps appearing and disappearing")


def _settle(
    target: ObjectStore,
    vehicle_id: str,
    period: Period,
    version: int,
    manifest: dict,
    digest: str,
    published: bool,
) -> PublishResult | None:
    """A manifest exists for v{version}: done if it holds our data."""
    if manifest.get("data_sha256") != digest:
        return None
    _advance_latest(target, vehicle_id, period)
    _remove_claims(target, package_prefix(vehicle_id, period), version)
    return _result(target, vehicle_id, period, version, manifest, published=published)


def _release_own_claim(
    target: ObjectStore, vehicle_id: str, period: Period, version: int, owner: str
) -> None:
    """Drop a claim this call created on a version someone else published."""
    key = version_key(vehicle_id, period, version, CLAIM)
    if loads(target.read(key) or b"{}").get("owner") == owner:
        target.delete(key)


def _remove_claims(target: ObjectStore, base: str, version: int) -> None:
    """The version is complete: drop its claim keys and whatever a crashed
    writer left in its folder (temporary files of a killed process)."""
    for key in target.list(f"{base}/v{version}/_"):
        target.delete(key)
    target.sweep(f"{base}/v{version}/")


def _advance_latest(target: ObjectStore, vehicle_id: str, period: Period) -> None:
    """Point latest.json at the highest published version, never backwards.

    Re-reading after each write settles races: whoever writes last has seen
    every manifest created before its own write.
    """
    latest_key = f"{package_prefix(vehicle_id, period)}/{LATEST}"
    for _ in range(10):
        top = latest_version(target, vehicle_id, period)
        if top is None:
            return
        current = loads(target.read(latest_key) or b"{}").get("version")
        if isinstance(current, int) and current >= top:
            return
        manifest = target.read(version_key(vehicle_id, period, top, MANIFEST))
        if manifest is None:
            continue
        target.write(
            latest_key,
            json_bytes(
                {"version": top, "manifest": f"v{top}/{MANIFEST}", "sha256": sha256_hex(manifest)}
            ),
        )


def _result(
    target: ObjectStore,
    vehicle_id: str,
    period: Period,
    version: int,
    manifest: dict,
    published: bool,
) -> PublishResult:
    manifest_key = version_key(vehicle_id, period, version, MANIFEST)
    stored = target.read(manifest_key)
    keys = {
        name: version_key(vehicle_id, period, version, name) for name in manifest.get("files", {})
    }
    keys[MANIFEST] = manifest_key
    return PublishResult(
        vehicle_id=vehicle_id,
        period_key=period.key,
        version=version,
        published=published,
        manifest=manifest if stored is None else json.loads(stored),
        manifest_sha256=sha256_hex(stored) if stored is not None else "",
        keys=keys,
        location=target.uri(f"{package_prefix(vehicle_id, period)}/v{version}"),
    )
