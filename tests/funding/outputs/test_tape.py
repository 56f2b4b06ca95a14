"""The loan tape (outputs.md, "Loan tape"): exactly the contract's columns and
types, no personal data, a keyed account reference, exact money and
byte-deterministic Parquet and CSV."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import sqlite3
from datetime import date
from decimal import Decimal

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funding.demo import SeedConfig, seed_ledger
from funding.ledger.closes import previous_close
from funding.ledger.database import read_ledger
from funding.ledger.extract import extract_snapshot
from funding.ledger.snapshot import SCHEMA, pool_members
from funding.outputs.tape import (
    account_ref,
    build_tape,
    tape_control_totals,
    tape_csv_bytes,
    tape_dictionary_csv,
    tape_parquet_bytes,
    with_account_ref,
)
from funding.structure.borrowing_base import FacilityConfig, compute_borrowing_base
from funding.structure.eligibility import EligibilityConfig, evaluate_eligibility

KEY = b"test-tape-hmac-key"
ELIGIBILITY_CONFIG = EligibilityConfig.model_validate(
    {
        "criteria": [{"code": "MAX_DPD", "days": 0}, {"code": "POSITIVE_BALANCE"}],
        "concentration_limits": [{"code": "SINGLE_STATE", "max_pct": 5}],
        "advance_rate_pct": 85,
    }
)
FACILITY = FacilityConfig(commitment_cents=10**12, draw_policy="max_available")
MAR = date(2025, 3, 31)

# The contract's table, written out independently of funding.tape.
MONEY = pl.Decimal(18, 2)
CONTRACT: list[tuple[str, pl.DataType]] = [
    ("period_end", pl.Date()),
    ("vehicle_id", pl.String()),
    ("account_ref", pl.String()),
    ("origination_month", pl.String()),
    ("months_on_book", pl.Int64()),
    ("billing_state", pl.String()),
    ("channel", pl.String()),
    ("product_code", pl.String()),
    ("risk_grade", pl.String()),
    ("origination_fico", pl.Int64()),
    ("current_fico", pl.Int64()),
    ("current_score_model", pl.String()),
    ("credit_limit", MONEY),
    ("apr_bps", pl.Int64()),
    ("principal_balance", MONEY),
    ("interest_balance", MONEY),
    ("fee_balance", MONEY),
    ("total_balance", MONEY),
    *(
        (name, MONEY)
        for name in (
            "purchases",
            "returns",
            "principal_collections",
            "interest_collections",
            "fee_collections",
            "interest_billed",
            "fees_billed",
            "interest_waivers",
            "fee_waivers",
            "chargeoff_principal",
            "chargeoff_interest",
            "chargeoff_fees",
            "recoveries",
        )
    ),
    ("days_past_due", pl.Int64()),
    ("delinquency_bucket", pl.String()),
    ("status", pl.String()),
    ("flags", pl.String()),
]
ELIGIBILITY = [
    ("is_eligible", pl.Boolean()),
    ("ineligibility_reasons", pl.String()),
    ("excess_concentration", MONEY),
]
MONEY_COLUMNS = [name for name, dtype in CONTRACT + ELIGIBILITY if dtype == MONEY]
CUSTOMER_COLUMNS = (
    "customer_id",
    "full_name",
    "email",
    "phone",
    "date_of_birth",
    "ssn",
    "address_line1",
    "city",
    "state",
    "postal_code",
)


def make_pool(
    n: int, vehicle_id: str = "wh1", period_end: date = MAR, seed: int = 0, first_id: int = 1
):
    """A synthetic pool in the snapshot schema (money in integer cents)."""
    rng = np.random.default_rng(seed)
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    data: dict[str, object] = {}
    for name, dtype in SCHEMA.items():
        if dtype == pl.Int64():
            data[name] = rng.integers(-5_000, 2_000_000, n)
        elif dtype == pl.Boolean():
            data[name] = np.zeros(n, dtype=bool)
        elif dtype == pl.Date():
            data[name] = [None] * n
        else:
            data[name] = [None] * n
    frame = pl.DataFrame(data, schema=SCHEMA)
    return frame.with_columns(
        pl.Series("account_id", ids),
        pl.lit(period_end).alias("period_end"),
        pl.lit(vehicle_id).alias("vehicle_id"),
        pl.lit(True).alias("is_active"),
        pl.Series("opened_on", [date(2020 + i % 5, 1 + i % 12, 1 + i % 28) for i in range(n)]),
        pl.Series("billing_state", [("CA", "TX", "NY", "FL")[i % 4] for i in range(n)]),
        pl.lit("DIRECT").alias("channel"),
        pl.lit("CL_STD").alias("product_code"),
        pl.Series("risk_grade", [("A", "B", "C")[i % 3] for i in range(n)]),
        pl.lit("FICO8").alias("current_score_model"),
        pl.lit("current").alias("delinquency_bucket"),
        pl.lit("OPEN").alias("status"),
        pl.lit("").alias("flags"),
        (pl.col("principal_cents") + pl.col("interest_cents") + pl.col("fees_cents")).alias(
            "total_cents"
        ),
    )


def _snapshots(url: str) -> dict[date, pl.DataFrame]:
    out, prev = {}, None
    with read_ledger(url) as session:
        closes = session.period_closes()
        for close in closes:
            prev = extract_snapshot(session, close, previous_close(closes, close.period), prev)
            out[close.period_end] = prev
    return out


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    """A generated ledger (SQLite file) and its snapshots for three periods."""
    path = tmp_path_factory.mktemp("tape") / "ledger.sqlite"
    url = f"sqlite:///{path}"
    seed_ledger(url, SeedConfig(accounts=300, months=3))
    return path, _snapshots(url)


def test_tape_has_exactly_the_contract_columns_and_types(ledger):
    _, snaps = ledger
    snapshot = snaps[MAR]
    pool = pool_members(snapshot, "wh1")
    tape = build_tape(pool, "wh1", KEY)
    assert list(tape.schema.items()) == CONTRACT
    assert tape.height == pool.height > 0

    eligibility = evaluate_eligibility(pool, ELIGIBILITY_CONFIG)
    without_allocation = build_tape(pool, "wh1", KEY, eligibility=eligibility)
    assert list(without_allocation.schema.items()) == CONTRACT + ELIGIBILITY
    assert without_allocation["excess_concentration"].cast(pl.String).unique().to_list() == ["0.00"]

    result = compute_borrowing_base(pool, eligibility, ELIGIBILITY_CONFIG, FACILITY, 0)
    assert result.excess_concentration_cents > 0
    tape = build_tape(pool, "wh1", KEY, eligibility=eligibility, allocation=result.allocation)
    assert list(tape.schema.items()) == CONTRACT + ELIGIBILITY
    assert tape["excess_concentration"].sum() == Decimal(result.excess_concentration_cents).scaleb(
        -2
    )
    assert tape["is_eligible"].sum() == eligibility["is_eligible"].sum()
    assert tape["is_eligible"].sum() < tape.height  # some accounts fail a criterion


def test_tape_has_no_column_or_value_from_customers(ledger):
    path, snaps = ledger
    pool = pool_members(snaps[MAR], "wh1")
    tape = build_tape(pool, "wh1", KEY)
    text = tape_csv_bytes(tape).decode()
    fields = {field for record in csv.reader(io.StringIO(text)) for field in record}

    with sqlite3.connect(path) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(customers)")]
        customers = conn.execute(f"SELECT {', '.join(columns)} FROM customers").fetchall()
        accounts = dict(conn.execute("SELECT account_id, customer_id FROM accounts").fetchall())
    assert set(columns) == set(CUSTOMER_COLUMNS)
    assert not set(tape.columns) & {*columns, "account_id"}
    assert customers

    # `state` repeats the account's billing_state, which the contract publishes;
    # ids are small integers, checked below against every column instead.
    checked = [c for c in columns if c not in ("state", "customer_id")]
    for row in customers:
        for name, value in zip(columns, row, strict=True):
            if name not in checked or value is None:
                continue
            value = str(value)
            assert value not in fields, f"customers.{name} value {value!r} is a tape field"
            if len(value) >= 6:  # long enough not to occur by chance inside hex or amounts
                assert value not in text, (
                    f"customers.{name} value {value!r} appears in the tape CSV"
                )

    # No tape column carries the account id or the customer id (a small
    # integer column may equal it on some rows by chance, not on all).
    ids = with_account_ref(pool.select("account_id"), "wh1", KEY)
    by_ref = tape.join(ids, on="account_ref", how="left")
    by_ref = by_ref.with_columns(
        pl.col("account_id").replace_strict(accounts, return_dtype=pl.Int64).alias("customer_id")
    )
    for column in tape.columns:
        as_text = by_ref[column].cast(pl.String)
        for identifier in ("account_id", "customer_id"):
            same = as_text == by_ref[identifier].cast(pl.String)
            assert same.mean() < 0.5, (column, identifier)


def test_account_ref_is_stable_across_periods_and_differs_across_vehicles(ledger):
    _, snaps = ledger
    feb, mar = snaps[date(2025, 2, 28)], snaps[MAR]
    refs = {}
    for period, snapshot in (("feb", feb), ("mar", mar)):
        pool = pool_members(snapshot, "wh1")
        tape = build_tape(pool, "wh1", KEY)
        refs[period] = dict(
            zip(
                with_account_ref(pool, "wh1", KEY)["account_id"].to_list(),
                with_account_ref(pool, "wh1", KEY)["account_ref"].to_list(),
                strict=True,
            )
        )
        assert sorted(tape["account_ref"].to_list()) == sorted(refs[period].values())
    common = refs["feb"].keys() & refs["mar"].keys()
    assert len(common) > 50
    assert all(refs["feb"][a] == refs["mar"][a] for a in common)

    # The same accounts under another vehicle get other, unrelated references.
    everyone = mar.select("account_id")
    wh1 = with_account_ref(everyone, "wh1", KEY)["account_ref"]
    trust1 = with_account_ref(everyone, "trust1", KEY)["account_ref"]
    assert not (wh1 == trust1).any()
    assert not set(wh1.to_list()) & set(trust1.to_list())
    # ... and another key gives other references.
    assert not (wh1 == with_account_ref(everyone, "wh1", b"other-key")["account_ref"]).any()


def test_account_ref_is_the_spec_hmac():
    expected = hmac.new(b"secret", b"wh1:12345", hashlib.sha256).hexdigest()[:16]
    assert account_ref("wh1", 12345, b"secret") == expected
    assert len(expected) == 16
    with pytest.raises(ValueError):
        account_ref("wh1", 1, b"")
    with pytest.raises(TypeError):
        account_ref("wh1", 1, "secret")  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(
    key=st.binary(min_size=1, max_size=200),
    vehicle=st.text(min_size=1, max_size=12),
    ids=st.lists(st.integers(1, 2**62), min_size=1, max_size=20),
)
def test_vectorised_account_ref_equals_hmac_for_any_key(key, vehicle, ids):
    frame = pl.DataFrame({"account_id": ids}, schema={"account_id": pl.Int64})
    got = with_account_ref(frame, vehicle, key)["account_ref"].to_list()
    expected = [
        hmac.new(key, f"{vehicle}:{i}".encode(), hashlib.sha256).hexdigest()[:16] for i in ids
    ]
    assert got == expected == [account_ref(vehicle, i, key) for i in ids]


def test_rows_are_sorted_by_account_ref_and_bytes_are_deterministic(ledger):
    _, snaps = ledger
    pool = pool_members(snaps[MAR], "wh1")
    tape = build_tape(pool, "wh1", KEY)
    assert tape["account_ref"].to_list() == sorted(tape["account_ref"].to_list())
    shuffled = build_tape(pool.sample(fraction=1.0, shuffle=True, seed=3), "wh1", KEY)
    assert tape_parquet_bytes(shuffled) == tape_parquet_bytes(tape)
    assert tape_csv_bytes(shuffled) == tape_csv_bytes(tape)
    assert tape_parquet_bytes(tape) == tape_parquet_bytes(build_tape(pool, "wh1", KEY))
    assert b"2026" not in tape_csv_bytes(tape)  # no wall-clock dates inside the file


def test_parquet_money_is_decimal_18_2_and_exact(ledger):
    _, snaps = ledger
    pool = pool_members(snaps[MAR], "wh1")
    eligibility = evaluate_eligibility(pool, ELIGIBILITY_CONFIG)
    tape = build_tape(pool, "wh1", KEY, eligibility=eligibility)
    data = tape_parquet_bytes(tape)
    schema = pq.read_schema(io.BytesIO(data))
    for name in MONEY_COLUMNS:
        assert schema.field(name).type == pa.decimal128(18, 2), name
    assert schema.field("period_end").type == pa.date32()
    assert schema.field("is_eligible").type == pa.bool_()
    assert schema.field("apr_bps").type == pa.int64()

    table = pq.read_table(io.BytesIO(data))
    refs = with_account_ref(pool, "wh1", KEY).sort("account_ref")
    assert table.column("principal_balance").to_pylist() == [
        Decimal(c).scaleb(-2) for c in refs["principal_cents"].to_list()
    ]
    assert table.column("credit_limit").to_pylist() == [
        Decimal(c).scaleb(-2) for c in refs["credit_limit_cents"].to_list()
    ]
    assert pl.read_parquet(io.BytesIO(data)).equals(tape)


def test_csv_format():
    pool = make_pool(3).with_columns(
        pl.Series("principal_cents", [123456, -5, 0]),
        pl.Series("interest_cents", [0, 0, 0]),
        pl.Series("fees_cents", [0, 0, 0]),
        pl.Series("total_cents", [123456, -5, 0]),
        pl.Series("current_fico", [700, None, 650], dtype=pl.Int64),
        pl.Series("current_score_model", ['VANTAGE "4", beta', None, "FICO8"]),
        pl.Series("flags", ["", "DISPUTE;FRAUD", ""]),
    )
    eligibility = pl.DataFrame(
        {
            "account_id": [1, 2, 3],
            "is_eligible": [True, False, True],
            "ineligibility_reasons": ["", "NO_FLAGS", ""],
        }
    )
    allocation = pl.DataFrame({"account_id": [1], "excess_concentration_cents": [250]})
    tape = build_tape(pool, "wh1", KEY, eligibility, allocation)
    text = tape_csv_bytes(tape).decode("utf-8")
    lines = text.split("\n")
    assert lines[0] == ",".join(name for name, _ in CONTRACT + ELIGIBILITY)
    assert lines[-1] == "" and len(lines) == 5
    records = {r["account_ref"]: r for r in csv.DictReader(io.StringIO(text))}
    by_id = dict(
        zip(*with_account_ref(pool, "wh1", KEY).select("account_id", "account_ref"), strict=True)
    )
    one, two, three = (records[by_id[i]] for i in (1, 2, 3))
    assert (one["principal_balance"], two["principal_balance"], three["principal_balance"]) == (
        "1234.56",
        "-0.05",
        "0.00",
    )
    assert one["current_score_model"] == 'VANTAGE "4", beta'
    assert '"VANTAGE ""4"", beta"' in text  # RFC 4180: quoted, inner quotes doubled
    assert two["current_fico"] == "" and two["current_score_model"] == ""
    assert (one["is_eligible"], two["is_eligible"]) == ("true", "false")
    assert two["flags"] == "DISPUTE;FRAUD" and two["ineligibility_reasons"] == "NO_FLAGS"
    assert (one["excess_concentration"], two["excess_concentration"]) == ("2.50", "0.00")
    assert one["period_end"] == "2025-03-31"
    assert (one["origination_month"], two["origination_month"]) == ("2020-01", "2021-02")
    for record in records.values():
        for name in MONEY_COLUMNS:
            assert "e" not in record[name].lower() and record[name].split(".")[1].__len__() == 2


def test_control_totals_are_integer_cents_of_the_pool(ledger):
    _, snaps = ledger
    pool = pool_members(snaps[MAR], "wh1")
    totals = tape_control_totals(build_tape(pool, "wh1", KEY))

    def s(*names):
        return sum(int(pool[n].sum()) for n in names)

    assert totals == {
        "account_count": pool.height,
        "principal_cents": s("principal_cents"),
        "total_receivables_cents": s("total_cents"),
        "collections_cents": s(
            "principal_collections_cents", "interest_collections_cents", "fee_collections_cents"
        ),
        "chargeoffs_cents": s(
            "chargeoff_principal_cents", "chargeoff_interest_cents", "chargeoff_fees_cents"
        ),
        "recoveries_cents": s("recoveries_cents"),
    }
    assert all(type(v) is int for v in totals.values())


def test_tape_refuses_rows_outside_the_vehicle_pool(ledger):
    _, snaps = ledger
    snapshot = snaps[MAR]
    with pytest.raises(ValueError, match="not active"):
        build_tape(snapshot.filter(pl.col("vehicle_id") == "wh1"), "wh1", KEY)
    with pytest.raises(ValueError, match="not designated"):
        build_tape(pool_members(snapshot, None), "wh1", KEY)
    pool = pool_members(snapshot, "wh1")
    with pytest.raises(ValueError, match="no eligibility result"):
        build_tape(
            pool,
            "wh1",
            KEY,
            eligibility=pool.head(3).select(
                "account_id", is_eligible=pl.lit(True), ineligibility_reasons=pl.lit("")
            ),
        )
    with pytest.raises(ValueError, match="empty"):
        build_tape(pool, "wh1", b"")
    with pytest.raises(ValueError, match="not a loan tape"):
        tape_csv_bytes(build_tape(pool, "wh1", KEY).drop("flags"))


@pytest.mark.parametrize("with_eligibility", [False, True], ids=["tape", "eligibility tape"])
def test_the_dictionary_lists_exactly_the_tapes_columns_in_order(with_eligibility):
    pool = make_pool(20)
    eligibility = evaluate_eligibility(pool, ELIGIBILITY_CONFIG) if with_eligibility else None
    tape = build_tape(pool, "wh1", KEY, eligibility=eligibility)
    rows = list(csv.DictReader(io.StringIO(tape_dictionary_csv(tape).decode("utf-8"))))
    expected = CONTRACT + (ELIGIBILITY if with_eligibility else [])
    assert [r["column"] for r in rows] == [name for name, _ in expected] == tape.columns
    assert list(rows[0]) == ["column", "type", "unit", "definition", "source"]
    by_name = {r["column"]: r for r in rows}
    # types and units as a reader of the CSV needs them
    assert {
        name: by_name[name]["type"] for name, dtype in expected if dtype == MONEY
    } == dict.fromkeys([name for name, dtype in expected if dtype == MONEY], "decimal(18,2)")
    assert by_name["principal_balance"]["unit"] == "USD"
    assert by_name["apr_bps"]["unit"] == "bps"
    assert by_name["days_past_due"]["unit"] == "days"
    assert by_name["period_end"]["type"] == "date"
    assert all(r["definition"] and r["source"] for r in rows)
