"""The lake: intermediate Parquet, one file per asset and partition, in a
local folder or under an S3 prefix (through pyarrow's filesystems, which read
the standard AWS settings). Writes are atomic per file and byte-deterministic
for the same frame."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow.fs as pafs


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    """The frame as Parquet; the same frame always gives the same bytes."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", statistics=True)
    return buffer.getvalue()


@dataclass(frozen=True)
class Lake:
    uri: str

    def _fs(self) -> tuple[pafs.FileSystem, str]:
        if "://" in self.uri:
            return pafs.FileSystem.from_uri(self.uri)
        from pathlib import Path

        return pafs.LocalFileSystem(), str(Path(self.uri).resolve())

    def path(self, *parts: str) -> str:
        fs, root = self._fs()
        return "/".join([root.rstrip("/"), *parts])

    def location(self, *parts: str) -> str:
        """Where a file lives, as a person would type it."""
        if "://" in self.uri:
            return "/".join([self.uri.rstrip("/"), *parts])
        return self.path(*parts)

    def exists(self, *parts: str) -> bool:
        fs, _ = self._fs()
        return fs.get_file_info(self.path(*parts)).type == pafs.FileType.File

    def write_bytes(self, data: bytes, *parts: str) -> str:
        fs, _ = self._fs()
        target = self.path(*parts)
        fs.create_dir(target.rsplit("/", 1)[0], recursive=True)
        if isinstance(fs, pafs.LocalFileSystem):
            staging = f"{target}.partial"
            with fs.open_output_stream(staging) as out:
                out.write(data)
            fs.move(staging, target)  # rename: readers never see half a file
        else:
            with fs.open_output_stream(target) as out:  # S3 PUT is atomic
                out.write(data)
        return self.location(*parts)

    def read_bytes(self, *parts: str) -> bytes:
        fs, _ = self._fs()
        with fs.open_input_stream(self.path(*parts)) as src:
            return src.read()

    def write_frame(self, frame: pl.DataFrame, *parts: str) -> str:
        return self.write_bytes(parquet_bytes(frame), *parts)

    def read_frame(self, *parts: str, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """A Parquet file, or only `columns` of it (history reads need few)."""
        return pl.read_parquet(io.BytesIO(self.read_bytes(*parts)), columns=columns)

    def write_json(self, payload: Any, *parts: str) -> str:
        text = json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n"
        return self.write_bytes(text.encode(), *parts)

    def read_json(self, *parts: str) -> Any:
        return json.loads(self.read_bytes(*parts))
