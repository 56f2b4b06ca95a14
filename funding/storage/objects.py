"""Object stores: the one storage abstraction behind the lake and the publish
target (adapter over the local file system and boto3).

Keys are '/'-separated and relative to the store's root. Two stores share
one interface, `ObjectStore`: a local folder and an S3 prefix (any
S3-compatible endpoint). Both write atomically (a reader sees the old or the
new bytes, never half) and both can create a key only if it is absent, which
the publish protocol builds on.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ObjectStore(Protocol):
    """Where objects live. Keys are relative, '/'-separated."""

    def read(self, key: str) -> bytes | None:
        """The object's bytes, or None if it does not exist."""

    def exists(self, key: str) -> bool:
        """Whether the object exists."""

    def write(self, key: str, data: bytes) -> None:
        """Create or overwrite; readers see the old or the new bytes, never half."""

    def create(self, key: str, data: bytes) -> bool:
        """Write only if absent; False (and nothing written) if the key exists."""

    def delete(self, key: str) -> None:
        """Remove the key; no error if it is absent."""

    def list(self, prefix: str) -> list[str]:
        """Every key starting with `prefix`, sorted."""

    def sweep(self, prefix: str) -> list[str]:
        """Remove what interrupted writes left under `prefix` (never a key);
        the paths removed."""

    links_expire: bool  # whether `link` gives an expiring URL (S3) or a location (folder)

    def link(self, key: str, expires_seconds: int) -> str:
        """A link to download the object (S3: presigned GET; local: the file path)."""

    def uri(self, key: str) -> str:
        """Where the object lives, as a person would type it."""


def check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid object key {key!r}")
    return key


class LocalFolderStore:
    """A folder with the same layout as the S3 store.

    Every write goes to a hidden temporary file first, so readers never see
    half a file: `write` renames it over the key, `create` hard-links it to
    the key (the link fails if the key exists, atomically). A process killed
    mid-write leaves its temporary file behind: it is named
    `.tmp-{host}.{pid}.{random}`, so `sweep` can tell it from one a live
    writer still holds.
    """

    TMP_PREFIX = ".tmp-"
    TMP_NAME = re.compile(r"^\.tmp-(?P<host>.*)\.(?P<pid>[0-9]+)\.[^.]+$")
    ABANDONED_AFTER_SECONDS = 3600  # another host's, or an unnamed writer's
    links_expire = False  # a link is the file's path

    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalFolderStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def _staged(self, path: Path, data: bytes) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=_tmp_prefix(self.TMP_PREFIX), dir=path.parent)
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

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

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
                if name.startswith(self.TMP_PREFIX):
                    continue
                key = name if base == "." else f"{base}/{name}"
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def sweep(self, prefix: str) -> builtins.list[str]:
        """Remove temporary files of writers that are gone: a process of this
        host that no longer runs, or any writer's file untouched for an hour."""
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root.joinpath(*folder.split("/")) if folder else self.root
        removed = []
        now = time.time()
        for dirpath, _, filenames in os.walk(start):
            for name in filenames:
                path = Path(dirpath) / name
                key = path.relative_to(self.root).as_posix()
                if not name.startswith(self.TMP_PREFIX) or not key.startswith(prefix):
                    continue
                match = self.TMP_NAME.match(name)
                try:
                    age = now - path.stat().st_mtime
                except FileNotFoundError:
                    continue  # its writer finished in between
                ours_and_dead = (
                    match is not None
                    and match.group("host") == _host()
                    and not _process_alive(int(match.group("pid")))
                )
                if ours_and_dead or age > self.ABANDONED_AFTER_SECONDS:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                    removed.append(str(path))
        return sorted(removed)

    def link(self, key: str, expires_seconds: int) -> str:
        return str(self._path(key))

    def uri(self, key: str = "") -> str:
        return str(self._path(key)) if key else str(self.root)


RETRY_MODES = ("standard", "adaptive", "legacy")
SSE_MODES = ("AES256", "aws:kms", "none")


@dataclass(frozen=True)
class S3Options:
    """How the S3 store talks to S3: retries, timeouts, server-side encryption.

    Transient faults (HTTP 500/502/503/504, SlowDown and other throttling,
    connection resets, read timeouts) are retried by botocore with
    exponential backoff and jitter, up to `max_attempts` tries in all.
    Every object is written with server-side encryption: SSE-S3 (`AES256`)
    by default, SSE-KMS (`aws:kms`, with `kms_key_id` or the bucket's
    default key), or `none` for an S3-compatible server that has no
    encryption (say so explicitly; it is never the default).

    From the environment (`from_env`): `AWS_RETRY_MODE` (standard),
    `AWS_MAX_ATTEMPTS` (8), `S3_CONNECT_TIMEOUT` / `S3_READ_TIMEOUT` seconds
    (5 / 30), `S3_SERVER_SIDE_ENCRYPTION` (AES256), `S3_SSE_KMS_KEY_ID`.
    """

    retry_mode: str = "standard"
    max_attempts: int = 8
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    server_side_encryption: str = "AES256"
    kms_key_id: str | None = None

    def __post_init__(self) -> None:
        if self.retry_mode not in RETRY_MODES:
            raise ValueError(
                f"AWS_RETRY_MODE must be one of {', '.join(RETRY_MODES)}, got {self.retry_mode!r}"
            )
        if not 1 <= self.max_attempts <= 20:
            raise ValueError(f"AWS_MAX_ATTEMPTS must be 1..20, got {self.max_attempts}")
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("S3_CONNECT_TIMEOUT and S3_READ_TIMEOUT must be positive seconds")
        if self.server_side_encryption not in SSE_MODES:
            raise ValueError(
                f"S3_SERVER_SIDE_ENCRYPTION must be one of {', '.join(SSE_MODES)}, "
                f"got {self.server_side_encryption!r}"
            )
        if self.kms_key_id and self.server_side_encryption != "aws:kms":
            raise ValueError("S3_SSE_KMS_KEY_ID needs S3_SERVER_SIDE_ENCRYPTION=aws:kms")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> S3Options:
        env = os.environ if environ is None else environ

        def number(name: str, default: float, kind: type = float) -> Any:
            text = env.get(name) or ""
            try:
                return kind(text) if text else default
            except ValueError:
                raise ValueError(f"{name} must be a number, got {text!r}") from None

        return cls(
            retry_mode=env.get("AWS_RETRY_MODE") or "standard",
            max_attempts=number("AWS_MAX_ATTEMPTS", 8, int),
            connect_timeout=number("S3_CONNECT_TIMEOUT", 5.0),
            read_timeout=number("S3_READ_TIMEOUT", 30.0),
            server_side_encryption=env.get("S3_SERVER_SIDE_ENCRYPTION") or "AES256",
            kms_key_id=env.get("S3_SSE_KMS_KEY_ID") or None,
        )

    def botocore_config(self) -> Any:
        from botocore.config import Config

        return Config(
            retries={"mode": self.retry_mode, "total_max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            # Presigned links carry X-Amz-Expires (SigV4), never SigV2's epoch.
            signature_version="s3v4",
        )

    def client(self, **kwargs: Any) -> Any:
        """A boto3 S3 client with these retries and timeouts (the standard AWS
        variables give endpoint, credentials and region)."""
        import boto3

        return boto3.client("s3", config=self.botocore_config(), **kwargs)

    def put_arguments(self) -> dict[str, str]:
        """The encryption arguments of every PutObject."""
        if self.server_side_encryption == "none":
            return {}
        arguments = {"ServerSideEncryption": self.server_side_encryption}
        if self.kms_key_id:
            arguments["SSEKMSKeyId"] = self.kms_key_id
        return arguments


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", os.uname().nodename)[:64] or "host"


def _tmp_prefix(base: str) -> str:
    return f"{base}{_host()}.{os.getpid()}."


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


class S3Store:
    """An S3 prefix (`s3://bucket/prefix`) through boto3.

    Without `client`, one is built from the standard AWS configuration
    (AWS_ENDPOINT_URL, credentials, region), so AWS, MinIO or moto all work,
    with the retries and timeouts of `options` (`S3Options`, from the
    environment by default). Every PUT carries the server-side encryption
    of `options`.
    `create` is a conditional PUT (`If-None-Match: *`): 412 means the key exists.
    """

    links_expire = True  # a link is a presigned URL

    def __init__(self, uri: str, client: Any = None, options: S3Options | None = None):
        match = re.fullmatch(r"s3://([^/]+)/?(.*)", uri)
        if not match:
            raise ValueError(f"not an s3://bucket/prefix URI: {uri!r}")
        self.bucket = match.group(1)
        self.prefix = match.group(2).strip("/")
        self.options = options or S3Options.from_env()
        self.client = client if client is not None else self.options.client()

    def __repr__(self) -> str:
        return f"S3Store('s3://{self.bucket}/{self.prefix}')"

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @staticmethod
    def _error_code(exc: Exception) -> tuple[str, int]:
        response = getattr(exc, "response", None) or {}
        code = str(response.get("Error", {}).get("Code", ""))
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return code, status

    def _missing(self, exc: Exception) -> bool:
        code, status = self._error_code(exc)
        return code in ("NoSuchKey", "404", "NotFound") or status == 404

    def read(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if self._missing(exc):
                return None
            raise
        return response["Body"].read()

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if self._missing(exc):
                return False
            raise
        return True

    def write(self, key: str, data: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self._key(key), Body=data, **self.options.put_arguments()
        )

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
                    Bucket=self.bucket,
                    Key=self._key(key),
                    Body=data,
                    IfNoneMatch="*",
                    **self.options.put_arguments(),
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

    def sweep(self, prefix: str) -> builtins.list[str]:
        """Nothing to do: a PUT stores the whole object or nothing."""
        return []

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

    def uri(self, key: str = "") -> str:
        if not key:
            return f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return f"s3://{self.bucket}/{self._key(key)}"


def store_for(uri: str | Path, client: Any = None, options: S3Options | None = None) -> ObjectStore:
    """`s3://bucket/prefix` -> S3Store; a path or `file://` URI -> LocalFolderStore."""
    text = str(uri)
    if text.startswith("s3://"):
        return S3Store(text, client=client, options=options)
    if text.startswith("file://"):
        text = text[len("file://") :]
    elif "://" in text:
        raise ValueError(f"unsupported storage URI {text!r}: use a path or s3://bucket/prefix")
    return LocalFolderStore(Path(text))
