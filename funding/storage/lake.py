"""The lake: intermediate data between the stages, one object per table,
vehicle and period, in an object store (local folder or S3 prefix).

A `Table` declares a name, the stage that writes it and how its values are
stored (`Codec`); `funding.storage.tables` declares every table once. Stages
read and write through `PeriodTables`, which only allows the tables the
stage declared: the orchestration layer derives its dependencies from the
same declarations, so a read without a declared dependency cannot happen.
Writes are atomic per object and byte-deterministic for the same value.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import polars as pl

from funding.period import Period
from funding.storage.objects import ObjectStore

T = TypeVar("T")
SHARED = ""  # the vehicle id of tables that describe the whole book


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    """The frame as Parquet; the same frame always gives the same bytes."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", statistics=True)
    return buffer.getvalue()


def json_bytes(payload: Any) -> bytes:
    return (json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n").encode()


@dataclass(frozen=True)
class Codec(Generic[T]):
    """How a table's values become bytes and back."""

    extension: str
    encode: Callable[[T], bytes]
    decode: Callable[..., T]  # (data, columns=None) for frames, (data) otherwise


def _read_frame(data: bytes, columns: Sequence[str] | None = None) -> pl.DataFrame:
    return pl.read_parquet(io.BytesIO(data), columns=columns)


FRAME: Codec[pl.DataFrame] = Codec("parquet", parquet_bytes, _read_frame)
PARQUET_BYTES: Codec[bytes] = Codec("parquet", bytes, bytes)  # kept exactly as written
JSON: Codec[Any] = Codec("json", json_bytes, json.loads)


@dataclass(frozen=True, eq=False)
class Table(Generic[T]):
    """One kind of lake object: `{vehicle}/{folder}/{YYYY-MM}.{ext}`, or
    `{folder}/{YYYY-MM}.{ext}` for a shared (whole-book) table."""

    name: str
    producer: str  # the stage that writes it
    codec: Codec[T]
    shared: bool = False
    folder: str = ""

    def key(self, vehicle_id: str, period: Period) -> str:
        folder = self.folder or self.name
        where = folder if self.shared else f"{vehicle_id}/{folder}"
        return f"{where}/{period.key}.{self.codec.extension}"

    def __repr__(self) -> str:
        return f"Table({self.name})"


class MissingTableError(LookupError):
    """A table a stage needs has not been written for that vehicle and period."""


class UndeclaredTableError(RuntimeError):
    """A stage touched a table it did not declare (so its dependencies are wrong)."""


class Lake:
    """Typed access to the lake's tables in an object store."""

    def __init__(self, store: ObjectStore):
        self.store = store

    def _vehicle(self, table: Table, vehicle_id: str) -> str:
        return SHARED if table.shared else vehicle_id

    def key(self, table: Table, vehicle_id: str, period: Period) -> str:
        return table.key(self._vehicle(table, vehicle_id), period)

    def exists(self, table: Table, vehicle_id: str, period: Period) -> bool:
        return self.store.exists(self.key(table, vehicle_id, period))

    def read_optional(
        self, table: Table[T], vehicle_id: str, period: Period, **options: Any
    ) -> T | None:
        data = self.store.read(self.key(table, vehicle_id, period))
        return None if data is None else table.codec.decode(data, **options)

    def read(self, table: Table[T], vehicle_id: str, period: Period, **options: Any) -> T:
        value = self.read_optional(table, vehicle_id, period, **options)
        if value is None:
            owner = "" if table.shared else f"{vehicle_id} "
            raise MissingTableError(
                f"{owner}{table.name} {period} is missing from the lake "
                f"({self.store.uri(self.key(table, vehicle_id, period))}); "
                f"materialize {owner.strip() + '/' if owner else ''}{table.producer} for {period} first"
            )
        return value

    def periods(self, table: Table, vehicle_id: str) -> list[Period]:
        """The periods the table has been written for, oldest first."""
        folder = self.key(table, vehicle_id, Period(2000, 1)).rsplit("/", 1)[0] + "/"
        suffix = f".{table.codec.extension}"
        found = []
        for key in self.store.list(folder):
            name = key[len(folder) :]
            if name.endswith(suffix) and "/" not in name:
                try:
                    found.append(Period.parse(name[: -len(suffix)]))
                except ValueError:
                    continue
        return sorted(found)

    def write(self, table: Table[T], vehicle_id: str, period: Period, value: T) -> str:
        key = self.key(table, vehicle_id, period)
        self.store.write(key, table.codec.encode(value))
        return self.store.uri(key)

    def uri(self, table: Table, vehicle_id: str, period: Period) -> str:
        return self.store.uri(self.key(table, vehicle_id, period))

    def tables(
        self,
        vehicle_id: str,
        period: Period,
        reads: Collection[Table] = (),
        writes: Collection[Table] = (),
        stage: str = "this stage",
    ) -> PeriodTables:
        return PeriodTables(self, vehicle_id, period, frozenset(reads), frozenset(writes), stage)


class PeriodTables:
    """One stage's view of the lake for one vehicle and period: it reads only
    the tables it declared (of this or earlier periods) and writes only its own."""

    def __init__(
        self,
        lake: Lake,
        vehicle_id: str,
        period: Period,
        reads: frozenset[Table],
        writes: frozenset[Table],
        stage: str,
    ):
        self.lake = lake
        self.vehicle_id = vehicle_id
        self.period = period
        self._reads = reads | writes  # a stage may read back what it writes
        self._writes = writes
        self._stage = stage

    def _readable(self, table: Table) -> None:
        if table not in self._reads:
            raise UndeclaredTableError(
                f"{self._stage} reads {table.name} without declaring it among its reads"
            )

    def read(self, table: Table[T], period: Period | None = None, **options: Any) -> T:
        self._readable(table)
        return self.lake.read(table, self.vehicle_id, period or self.period, **options)

    def read_optional(
        self, table: Table[T], period: Period | None = None, **options: Any
    ) -> T | None:
        self._readable(table)
        return self.lake.read_optional(table, self.vehicle_id, period or self.period, **options)

    def exists(self, table: Table, period: Period | None = None) -> bool:
        self._readable(table)
        return self.lake.exists(table, self.vehicle_id, period or self.period)

    def periods(self, table: Table) -> list[Period]:
        """The periods the table has been written for (this vehicle's), oldest first."""
        self._readable(table)
        return self.lake.periods(table, self.vehicle_id)

    def history(self, table: Table[T], count: int, **options: Any) -> list[tuple[Period, T]]:
        """Up to `count` values of consecutive periods ending at this one,
        oldest first, stopping at the first period without one."""
        self._readable(table)
        out, period = [], self.period
        for _ in range(count):
            value = self.lake.read_optional(table, self.vehicle_id, period, **options)
            if value is None:
                break
            out.append((period, value))
            period = period.previous()
        return list(reversed(out))

    def write(self, table: Table[T], value: T) -> str:
        if table not in self._writes:
            raise UndeclaredTableError(
                f"{self._stage} writes {table.name}, which it does not declare among its writes"
            )
        return self.lake.write(table, self.vehicle_id, self.period, value)

    def uri(self, table: Table) -> str:
        return self.lake.uri(table, self.vehicle_id, self.period)
