"""The lake's typed tables: one declaration per table, keys as the layout
says, values round-trip through their codec, and a stage only touches the
tables it declared."""

from __future__ import annotations

import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from funding.period import Period
from funding.storage.lake import (
    SHARED,
    Lake,
    MissingTableError,
    UndeclaredTableError,
)
from funding.storage.objects import LocalFolderStore
from funding.storage.tables import (
    PACKAGE,
    POOL_PERFORMANCE,
    SNAPSHOT,
    SNAPSHOT_WINDOW,
    WATERFALL_STATE,
)
from funding.structure.waterfall import VehicleState

MARCH = Period(2025, 3)


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake(LocalFolderStore(tmp_path))


def test_keys_follow_the_layout(lake):
    assert lake.key(SNAPSHOT, SHARED, MARCH) == "receivables_snapshot/2025-03.parquet"
    assert lake.key(SNAPSHOT_WINDOW, "wh1", MARCH) == "receivables_snapshot/2025-03.json"
    assert lake.key(POOL_PERFORMANCE, "wh1", MARCH) == "wh1/pool_performance/2025-03.parquet"
    assert lake.key(WATERFALL_STATE, "trust1", MARCH) == "trust1/waterfall_state/2025-03.json"
    assert lake.key(PACKAGE, "wh1", MARCH) == "wh1/package/2025-03.json"


def test_values_round_trip_through_their_codecs(lake, tmp_path):
    frame = pl.DataFrame({"account_id": [1, 2], "principal_cents": [100, -5]})
    lake.write(POOL_PERFORMANCE, "wh1", MARCH, frame)
    assert_frame_equal(lake.read(POOL_PERFORMANCE, "wh1", MARCH), frame)
    assert lake.read(POOL_PERFORMANCE, "wh1", MARCH, columns=["account_id"]).columns == [
        "account_id"
    ]

    state = VehicleState.from_dict(
        {
            "period_end": "2025-03-31",
            "status": "revolving",
            "cash_trap": False,
            "note_balances": {"A": 100},
            "unpaid_interest": {"A": 0},
            "unpaid_fees": {},
            "unreimbursed_chargeoffs": {"A": 0},
            "reserve_cents": 7,
        }
    )
    lake.write(WATERFALL_STATE, "trust1", MARCH, state)
    assert lake.read(WATERFALL_STATE, "trust1", MARCH) == state
    stored = (tmp_path / "trust1" / "waterfall_state" / "2025-03.json").read_text()
    assert json.loads(stored)["note_balances"] == {"A": 100}

    record = {"version": 2, "restates": "v1"}
    lake.write(PACKAGE, "wh1", MARCH, record)
    assert (tmp_path / "wh1" / "package" / "2025-03.json").read_text() == (
        '{\n  "restates": "v1",\n  "version": 2\n}\n'
    )
    assert lake.read(PACKAGE, "wh1", MARCH) == record


def test_a_missing_table_names_vehicle_period_and_producer(lake):
    assert lake.read_optional(POOL_PERFORMANCE, "wh1", MARCH) is None
    with pytest.raises(MissingTableError) as caught:
        lake.read(POOL_PERFORMANCE, "wh1", MARCH)
    message = str(caught.value)
    assert "wh1 pool_performance 2025-03 is missing" in message
    assert "materialize wh1/pool_performance for 2025-03 first" in message


def test_a_stage_reads_and_writes_only_what_it_declared(lake):
    frame = pl.DataFrame({"x": [1]})
    lake.write(SNAPSHOT, SHARED, MARCH, frame)
    tables = lake.tables(
        "wh1", MARCH, reads=[SNAPSHOT], writes=[POOL_PERFORMANCE], stage="wh1/pool_performance"
    )
    assert_frame_equal(tables.read(SNAPSHOT), frame)
    tables.write(POOL_PERFORMANCE, frame)
    assert_frame_equal(tables.read(POOL_PERFORMANCE), frame)  # its own output, read back
    with pytest.raises(UndeclaredTableError, match="wh1/pool_performance reads waterfall_state"):
        tables.read_optional(WATERFALL_STATE)
    with pytest.raises(UndeclaredTableError, match="writes receivables_snapshot"):
        tables.write(SNAPSHOT, frame)


def test_history_reads_consecutive_periods_oldest_first(lake):
    for period in (Period(2025, 1), Period(2025, 2), MARCH):
        lake.write(SNAPSHOT, SHARED, period, pl.DataFrame({"month": [period.month]}))
    tables = lake.tables("wh1", Period(2025, 4), reads=[SNAPSHOT])
    assert tables.history(SNAPSHOT, 3) == []  # April is missing: nothing before it is read
    tables = lake.tables("wh1", MARCH, reads=[SNAPSHOT])
    history = tables.history(SNAPSHOT, 2)
    assert [p for p, _ in history] == [Period(2025, 2), MARCH]
    assert [f["month"][0] for _, f in history] == [2, 3]
