"""Versioned publishing of investor packages (outputs.md, "Versions and restatements").

One interface, `PublishTarget`, with two targets: a local folder and an S3
prefix (boto3, any S3-compatible endpoint). Keys are '/'-separated and
relative to the target's root. A package lives at
`{vehicle_id}/{YYYY-MM}/v{N}/` and is visible only once its `manifest.json`
exists; `{vehicle_id}/{YYYY-MM}/latest.json` then points at it.

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
   claim keys go, leaving exactly the spec'd keys.
"""

from __future__ import annotations

import builtins
import contextlib
import csv
import hashlib
import io
import json
import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import polars as pl

MANIFEST = "manifest.json"
LATEST = "latest.json"
CLAIM = "_claim.json"
TAPE_PARQUET = "loan_tape.parquet"
RESERVED_NAMES = frozenset({MANIFEST, LATEST, CLAIM})
DATA_SUFFIXES = (".parquet", ".csv")
MANIFEST_FIELDS = ("ledger_cutoff", "code_version", "config_sha256", "control_totals", "checks")
DEFAULT_STALE_AFTER_SECONDS = 900

_VERSION_DIR = re.compile(r"^v([1-9][0-9]*)$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class PublishConflict(RuntimeError):
    """Another publisher holds the version with different data."""

    def __init__(self, vehicle_id: str, period_key: str, version: int, detail: str):
        super().__init__(f"cannot publish {vehicle_id} {period_key} v{version}: {detail}")
        self.vehicle_id = vehicle_id
        self.period_key = period_key
        self.version = version


# --------------------------------------------------------------------------- targets


@runtime_checkable
class PublishTarget(Protocol):
    """Where packages are published. Keys are relative, '/'-separated."""

    def read(self, key: str) -> bytes | None:
        """The object's bytes, or None if it does not exist."""

    def write(self, key: str, data: bytes) -> None:
        """Create or overwrite; readers see the old or the new bytes, never half."""

    def create(self, key: str, data: bytes) -> bool:
        """Write only if absent; False (and nothing written) if the key exists."""

    def delete(self, key: str) -> None:
        """Remove the key; no error if it is absent."""

    def list(self, prefix: str) -> list[str]:
        """Every key starting with `prefix`, sorted."""

    def link(self, key: str, expires_seconds: int) -> str:
        """A link to download the object (S3: presigned GET; local: the file path)."""

    def uri(self, key: str) -> str:
        """Where the object lives, as a person would type it."""


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid publish key {key!r}")
    return key


class LocalFolderTarget:
    """A folder with the same layout as the S3 target.

    Every write goes to a hidden temporary file first, so readers never see
    half a file: `write` renames it over the key, `create` hard-links it to
    the key (the link fails if the key exists, atomically).
    """

    _TMP_PREFIX = ".tmp-"

    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalFolderTarget({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*_check_key(key).split("/"))

    def _staged(self, path: Path, data: bytes) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=self._TMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            os.unlink(name)
            raise
        return Path(name)

    def read(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        staged = self._staged(path, data)
        os.replace(staged, path)

    def create(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        staged = self._staged(path, data)
        try:
            os.link(staged, path)
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(staged)

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def list(self, prefix: str) -> builtins.list[str]:
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root.joinpath(*folder.split("/")) if folder else self.root
        keys = []
        for dirpath, _, filenames in os.walk(start):
            base = Path(dirpath).relative_to(self.root).as_posix()
            for name in filenames:
                if name.startswith(self._TMP_PREFIX):
                    continue
                key = name if base == "." else f"{base}/{name}"
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def link(self, key: str, expires_seconds: int) -> str:
        return str(self._path(key))

    def uri(self, key: str) -> str:
        return str(self._path(key))


class S3Target:
    """An S3 prefix (`s3://bucket/prefix`) through boto3.

    Without `client`, boto3 builds one from the standard AWS configuration
    (AWS_ENDPOINT_URL, credentials, region), so AWS, MinIO or moto all work.
    `create` is a conditional PUT (`If-None-Match: *`): 412 means the key exists.
    """

    def __init__(self, uri: str, client: Any = None):
        match = re.fullmatch(r"s3://([^/]+)/?(.*)", uri)
        if not match:
            raise ValueError(f"not an s3://bucket/prefix URI: {uri!r}")
        self.bucket = match.group(1)
        self.prefix = match.group(2).strip("/")
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.client = client

    def __repr__(self) -> str:
        return f"S3Target('s3://{self.bucket}/{self.prefix}')"

    def _key(self, key: str) -> str:
        _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @staticmethod
    def _error_code(exc: Exception) -> tuple[str, int]:
        response = getattr(exc, "response", None) or {}
        code = str(response.get("Error", {}).get("Code", ""))
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return code, status

    def read(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            code, status = self._error_code(exc)
            if code in ("NoSuchKey", "404", "NotFound") or status == 404:
                return None
            raise
        return response["Body"].read()

    def write(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def create(self, key: str, data: bytes) -> bool:
        from botocore.exceptions import ClientError

        # S3 answers 409 ConditionalRequestConflict while another conditional
        # write to the key is in flight: retry until it settles. (A lost
        # response retried by boto3 reads as 412; callers compare the stored
        # bytes, so that is safe.)
        attempts = 8
        for attempt in range(attempts):
            try:
                self.client.put_object(
                    Bucket=self.bucket, Key=self._key(key), Body=data, IfNoneMatch="*"
                )
                return True
            except ClientError as exc:
                code, status = self._error_code(exc)
                if code == "PreconditionFailed" or status == 412:
                    return False
                if attempt + 1 < attempts and (
                    code == "ConditionalRequestConflict" or status == 409
                ):
                    time.sleep(0.05 * 2**attempt)
                    continue
                raise
        raise AssertionError("unreachable")

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def list(self, prefix: str) -> builtins.list[str]:
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        strip = len(self.prefix) + 1 if self.prefix else 0
        keys = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
            keys.extend(item["Key"][strip:] for item in page.get("Contents", ()))
        return sorted(keys)

    def link(self, key: str, expires_seconds: int) -> str:
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._key(key)},
            ExpiresIn=int(expires_seconds),
        )

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"


def target_for(uri: str | Path, client: Any = None) -> PublishTarget:
    """`s3://bucket/prefix` -> S3Target; a path or `file://` URI -> LocalFolderTarget."""
    text = str(uri)
    if text.startswith("s3://"):
        return S3Target(text, client=client)
    if text.startswith("file://"):
        text = text[len("file://") :]
    elif "://" in text:
        raise ValueError(f"unsupported publish URI {text!r}: use a path or s3://bucket/prefix")
    return LocalFolderTarget(Path(text))


# --------------------------------------------------------------------------- layout


def period_key(period_end: date | str) -> str:
    """`YYYY-MM` of a period end (a date, `YYYY-MM-DD` or `YYYY-MM`)."""
    if isinstance(period_end, date):
        return f"{period_end:%Y-%m}"
    text = str(period_end)
    if re.fullmatch(r"\d{4}-\d{2}", text):
        return text
    return f"{date.fromisoformat(text):%Y-%m}"


def package_prefix(vehicle_id: str, period: date | str) -> str:
    if not _SAFE_NAME.match(vehicle_id):
        raise ValueError(f"vehicle id {vehicle_id!r} is not a safe key")
    return f"{vehicle_id}/{period_key(period)}"


def version_key(vehicle_id: str, period: date | str, version: int, name: str) -> str:
    return f"{package_prefix(vehicle_id, period)}/v{version}/{name}"


def versions(target: PublishTarget, vehicle_id: str, period: date | str) -> list[int]:
    """Published versions (those with a manifest), ascending."""
    base = package_prefix(vehicle_id, period) + "/"
    found = []
    for key in target.list(base):
        parts = key[len(base) :].split("/")
        if len(parts) == 2 and parts[1] == MANIFEST and (m := _VERSION_DIR.match(parts[0])):
            found.append(int(m.group(1)))
    return sorted(found)


def latest_version(target: PublishTarget, vehicle_id: str, period: date | str) -> int | None:
    found = versions(target, vehicle_id, period)
    return found[-1] if found else None


def read_manifest(
    target: PublishTarget, vehicle_id: str, period: date | str, version: int
) -> dict | None:
    data = target.read(version_key(vehicle_id, period, version, MANIFEST))
    return None if data is None else json.loads(data)


# --------------------------------------------------------------------------- hashing


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


def _json_bytes(payload: object) -> bytes:
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


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --------------------------------------------------------------------------- diff


def tape_diff(before: pl.DataFrame, after: pl.DataFrame, examples: int = 10) -> dict:
    """Loan-level differences between two loan tapes, by `account_ref`.

    Accounts added, removed and changed (any column differs), the number of
    changed accounts per column, and per money column the totals before and
    after in integer cents. `examples` account refs of each kind are listed.
    """
    for name, frame in (("before", before), ("after", after)):
        if "account_ref" not in frame.columns:
            raise ValueError(f"the {name} tape has no account_ref column")
    common = [c for c in after.columns if c in before.columns and c != "account_ref"]
    left = before.select("account_ref")
    right = after.select("account_ref")
    added = (
        right.join(left, on="account_ref", how="anti").sort("account_ref").get_column("account_ref")
    )
    removed = (
        left.join(right, on="account_ref", how="anti").sort("account_ref").get_column("account_ref")
    )
    both = after.select("account_ref", *common).join(
        before.select("account_ref", *common), on="account_ref", how="inner", suffix="__before"
    )
    differs = both.select(
        "account_ref", *(pl.col(c).ne_missing(pl.col(f"{c}__before")).alias(c) for c in common)
    )
    if common:
        differs = differs.with_columns(pl.any_horizontal(common).alias("__changed"))
    else:
        differs = differs.with_columns(pl.lit(False).alias("__changed"))
    changed = differs.filter("__changed").sort("account_ref")
    per_column = {
        c: int(changed.get_column(c).sum()) for c in common if int(changed.get_column(c).sum())
    }
    money = sorted(
        {c for c, t in after.schema.items() if isinstance(t, pl.Decimal)}
        | {c for c, t in before.schema.items() if isinstance(t, pl.Decimal)}
    )
    order = {c: i for i, c in enumerate([*after.columns, *before.columns])}
    totals = {}
    for column in sorted(money, key=lambda c: order[c]):
        b = _total_cents(before, column)
        a = _total_cents(after, column)
        totals[column] = {
            "before_cents": b,
            "after_cents": a,
            "change_cents": None if a is None or b is None else a - b,
        }
    return {
        "key": "account_ref",
        "accounts_before": before.height,
        "accounts_after": after.height,
        "accounts_added": added.len(),
        "accounts_removed": removed.len(),
        "accounts_changed": changed.height,
        "changed_columns": per_column,
        "columns_added": [c for c in after.columns if c not in before.columns],
        "columns_removed": [c for c in before.columns if c not in after.columns],
        "examples": {
            "added": added.head(examples).to_list(),
            "removed": removed.head(examples).to_list(),
            "changed": changed.get_column("account_ref").head(examples).to_list(),
        },
        "totals": totals,
    }


def _total_cents(frame: pl.DataFrame, column: str) -> int | None:
    if column not in frame.columns:
        return None
    value = frame.get_column(column).sum()
    cents = Decimal(0 if value is None else value).scaleb(2)
    if cents != cents.to_integral_value():
        raise ValueError(f"{column} does not sum to whole cents")
    return int(cents)


def _package_diff(previous: bytes | None, current: bytes | None, compared_with: str) -> dict:
    if previous is None or current is None:
        which = "previous" if previous is None else "new"
        return {"compared_with": compared_with, "note": f"no {TAPE_PARQUET} in the {which} version"}
    before = pl.read_parquet(io.BytesIO(previous))
    after = pl.read_parquet(io.BytesIO(current))
    return {"compared_with": compared_with, **tape_diff(before, after)}


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


def publish_package(
    target: PublishTarget,
    vehicle_id: str,
    period_end: date | str,
    data_files: Mapping[str, bytes],
    render_documents: Callable[[int, str | None], Mapping[str, bytes]],
    manifest_fields: Mapping[str, Any],
    reason: str | None = None,
    file_rows: Mapping[str, int] | None = None,
    *,
    stale_after_seconds: float = DEFAULT_STALE_AFTER_SECONDS,
    clock: Callable[[], datetime] = _utc_now,
) -> PublishResult:
    """Publish one package version (or nothing, when the data is unchanged).

    `data_files` are the byte-deterministic files (tape Parquet/CSV, figure
    Parquet): they decide whether anything changed. `render_documents(version,
    restatement_note)` renders the documents (investor report HTML/PDF) for
    the version being written; the note is None for v1, else
    "Restates v{N}: {reason}". `manifest_fields` supplies ledger_cutoff,
    code_version, config_sha256, control_totals and checks. `file_rows`
    gives row counts of tabular files (checked against the bytes; counted
    when absent).
    """
    _check_manifest_fields(manifest_fields)
    names = _check_file_names(data_files)
    rows = _file_rows(data_files, file_rows or {})
    hashes = {name: sha256_hex(data_files[name]) for name in names}
    digest = data_digest(hashes)
    period = period_key(period_end)
    base = package_prefix(vehicle_id, period)
    period_end_text = period_end.isoformat() if isinstance(period_end, date) else str(period_end)

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


def _check_manifest_fields(fields: Mapping[str, Any]) -> None:
    missing = [f for f in MANIFEST_FIELDS if f not in fields]
    extra = [f for f in fields if f not in MANIFEST_FIELDS]
    if missing or extra:
        raise ValueError(
            f"manifest_fields must be exactly {list(MANIFEST_FIELDS)}: "
            f"missing {missing}, extra {extra}"
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


def is_data_file(name: str) -> bool:
    """Data files are the tabular ones (Parquet, CSV); every other file is a document."""
    return name.endswith(DATA_SUFFIXES)


def _check_file_names(files: Mapping[str, bytes], what: str = "data file") -> list[str]:
    if not files and what == "data file":
        raise ValueError("a package needs at least one data file")
    for name, data in files.items():
        if not _SAFE_NAME.match(name) or name in RESERVED_NAMES or name.startswith("_"):
            raise ValueError(f"{what} name {name!r} is not allowed in a package")
        if is_data_file(name) != (what == "data file"):
            raise ValueError(
                f"{what} {name!r}: data files are exactly the {' and '.join(DATA_SUFFIXES)} files"
            )
        if not isinstance(data, bytes | bytearray):
            raise TypeError(f"{what} {name!r} must be bytes")
    return sorted(files)


def _file_rows(data_files: Mapping[str, bytes], given: Mapping[str, int]) -> dict[str, int | None]:
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


def _require_manifest(target: PublishTarget, vehicle_id: str, period: str, version: int) -> dict:
    manifest = read_manifest(target, vehicle_id, period, version)
    if manifest is None:
        raise RuntimeError(f"{vehicle_id} {period} v{version}: manifest disappeared")
    return manifest


def _claim_payload(digest: str, hashes: Mapping[str, str], owner: str, now: datetime) -> bytes:
    return _json_bytes(
        {"data_sha256": digest, "files": dict(hashes), "owner": owner, "claimed_at": _iso(now)}
    )


def _is_stale(payload: Mapping, now: datetime, stale_after_seconds: float) -> bool:
    try:
        claimed = _parse_iso(str(payload["claimed_at"]))
    except (KeyError, ValueError):
        return True
    return (now - claimed).total_seconds() > stale_after_seconds


def _acquire(
    target: PublishTarget,
    vehicle_id: str,
    period: str,
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
        payload = _loads(existing)
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
            target.write(claim_key, _claim_payload(digest, hashes, owner, clock()))
            return
        held = _loads(target.read(takeover_key) or b"{}")
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


def _loads(data: bytes) -> dict:
    try:
        payload = json.loads(data)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _publish_version(
    target: PublishTarget,
    vehicle_id: str,
    period: str,
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
    _check_file_names(documents, what="document")
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
        previous_tape = target.read(version_key(vehicle_id, period, version - 1, TAPE_PARQUET))
        diff = _package_diff(previous_tape, data_files.get(TAPE_PARQUET), restates)

    manifest = {
        "vehicle_id": vehicle_id,
        "period_end": period_end_text,
        "version": version,
        "restates": restates,
        "reason": reason,
        **{name: manifest_fields[name] for name in MANIFEST_FIELDS},
        "files": files,
        "data_sha256": digest,
        "diff": diff,
        "created_at": _iso(clock()),
    }
    claim = _loads(target.read(version_key(vehicle_id, period, version, CLAIM)) or b"{}")
    if claim and claim.get("data_sha256") != digest:
        raise PublishConflict(
            vehicle_id, period, version, "the claim was taken over while publishing"
        )
    manifest_bytes = _json_bytes(manifest)
    if target.create(version_key(vehicle_id, period, version, MANIFEST), manifest_bytes):
        _advance_latest(target, vehicle_id, period)
        _remove_claims(target, base, version)
        return _result(target, vehicle_id, period, version, manifest, published=True)
    existing = _require_manifest(target, vehicle_id, period, version)
    return _settle(target, vehicle_id, period, version, existing, digest, published=False)


def _create_or_read(target: PublishTarget, key: str, data: bytes) -> bytes | None:
    """Create `key`; None if created, else the bytes already stored there."""
    for _ in range(5):
        if target.create(key, data):
            return None
        stored = target.read(key)
        if stored is not None:
            return stored
    raise RuntimeError(f"{target.uri(key)} keeps appearing and disappearing")


def _settle(
    target: PublishTarget,
    vehicle_id: str,
    period: str,
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
    target: PublishTarget, vehicle_id: str, period: str, version: int, owner: str
) -> None:
    """Drop a claim this call created on a version someone else published."""
    key = version_key(vehicle_id, period, version, CLAIM)
    if _loads(target.read(key) or b"{}").get("owner") == owner:
        target.delete(key)


def _remove_claims(target: PublishTarget, base: str, version: int) -> None:
    for key in target.list(f"{base}/v{version}/_"):
        target.delete(key)


def _advance_latest(target: PublishTarget, vehicle_id: str, period: str) -> None:
    """Point latest.json at the highest published version, never backwards.

    Re-reading after each write settles races: whoever writes last has seen
    every manifest created before its own write.
    """
    latest_key = f"{package_prefix(vehicle_id, period)}/{LATEST}"
    for _ in range(10):
        top = latest_version(target, vehicle_id, period)
        if top is None:
            return
        current = _loads(target.read(latest_key) or b"{}").get("version")
        if isinstance(current, int) and current >= top:
            return
        manifest = target.read(version_key(vehicle_id, period, top, MANIFEST))
        if manifest is None:
            continue
        target.write(
            latest_key,
            _json_bytes(
                {"version": top, "manifest": f"v{top}/{MANIFEST}", "sha256": sha256_hex(manifest)}
            ),
        )


def _result(
    target: PublishTarget,
    vehicle_id: str,
    period: str,
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
        period_key=period,
        version=version,
        published=published,
        manifest=manifest if stored is None else json.loads(stored),
        manifest_sha256=sha256_hex(stored) if stored is not None else "",
        keys=keys,
        location=target.uri(f"{package_prefix(vehicle_id, period)}/v{version}"),
    )


# --------------------------------------------------------------------------- verification


def verify_package(
    target: PublishTarget, vehicle_id: str, period: date | str, version: int | None = None
) -> list[str]:
    """Problems of a published package against its manifest (empty = sound).

    Checks each file's presence, size, sha256 and row count (Parquet
    metadata, CSV records), files not in the manifest, the manifest's
    data_sha256, and that latest.json points at the latest manifest.
    """
    key_period = period_key(period)
    problems: list[str] = []
    published = versions(target, vehicle_id, key_period)
    if not published:
        return [f"{vehicle_id} {key_period}: no published version"]
    if version is None:
        version = published[-1]
    where = f"{vehicle_id} {key_period} v{version}"
    raw = target.read(version_key(vehicle_id, key_period, version, MANIFEST))
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
        data = target.read(version_key(vehicle_id, key_period, version, name))
        if data is None:
            problems.append(f"{where}: {name} is missing")
            continue
        if len(data) != entry.get("bytes"):
            problems.append(
                f"{where}: {name} has {len(data)} bytes, manifest says {entry.get('bytes')}"
            )
        actual = sha256_hex(data)
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
    stored = set(_names_in(target, vehicle_id, key_period, version))
    for name in sorted(stored - set(files) - {MANIFEST}):
        problems.append(f"{where}: {name} is not in the manifest")
    data_hashes = {n: e.get("sha256") for n, e in files.items() if is_data_file(n)}
    if manifest.get("data_sha256") != data_digest(data_hashes):
        problems.append(f"{where}: data_sha256 does not match the data files' hashes")
    latest = _loads(target.read(f"{package_prefix(vehicle_id, key_period)}/{LATEST}") or b"{}")
    if latest.get("version") != published[-1]:
        problems.append(
            f"{vehicle_id} {key_period}: latest.json points at "
            f"{latest.get('version')!r}, not v{published[-1]}"
        )
    elif version == published[-1] and latest.get("sha256") != sha256_hex(raw):
        problems.append(
            f"{vehicle_id} {key_period}: latest.json sha256 does not match v{version}/manifest.json"
        )
    return problems


def _names_in(target: PublishTarget, vehicle_id: str, period: str, version: int) -> list[str]:
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
    if parts and _VERSION_DIR.match(parts[-1]):
        version = int(parts.pop()[1:])
    if len(parts) < 3 or not re.fullmatch(r"\d{4}-\d{2}", parts[-1]):
        raise ValueError(f"{uri!r} is not a package location: expected ROOT/VEHICLE/YYYY-MM[/vN]")
    period, vehicle_id = parts[-1], parts[-2]
    root = "/".join(parts[:-2]) or "/"
    if root == "s3:/":
        raise ValueError(f"{uri!r} has no bucket")
    if root.startswith("s3://") and root.count("/") == 2:
        root += "/"
    return verify_package(target_for(root, client=client), vehicle_id, period, version)
