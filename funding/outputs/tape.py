"""The loan tape: one row per pool account at a period end (outputs.md, "Loan tape").

The tape carries no personal data. Accounts are named by `account_ref`, a
keyed hash of the vehicle and the account id (HMAC-SHA256 with the
`TAPE_HMAC_KEY` secret, first 16 hex characters): stable across periods for
one vehicle, different across vehicles, not reversible without the key.
Money columns are DECIMAL(18,2) built exactly from the snapshot's integer
cents; the Parquet and CSV bytes depend only on the frame (no timestamps),
with rows sorted by `account_ref`.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from decimal import Decimal

import polars as pl

from funding.ledger.snapshot import MEASURES
from funding.outputs.figures import cents_to_amount

MONEY = pl.Decimal(18, 2)
ACCOUNT_REF_HEX_CHARS = 16
_ORDER = "__account_ref_order"

# Tape money column -> snapshot cents column, in contract order.
BALANCE_COLUMNS: dict[str, str] = {
    "principal_balance": "principal_cents",
    "interest_balance": "interest_cents",
    "fee_balance": "fees_cents",
    "total_balance": "total_cents",
}
# The period flows of the contract: every ledger measure except the derived
# finance_charge_collections (= interest + fee collections).
FLOW_COLUMNS: dict[str, str] = {
    name: f"{name}_cents" for name in MEASURES if name != "finance_charge_collections"
}

TAPE_SCHEMA: dict[str, pl.DataType] = {
    "period_end": pl.Date(),
    "vehicle_id": pl.String(),
    "account_ref": pl.String(),
    "origination_month": pl.String(),
    "months_on_book": pl.Int64(),
    "billing_state": pl.String(),
    "channel": pl.String(),
    "product_code": pl.String(),
    "risk_grade": pl.String(),
    "origination_fico": pl.Int64(),
    "current_fico": pl.Int64(),
    "current_score_model": pl.String(),
    "credit_limit": MONEY,
    "apr_bps": pl.Int64(),
    **{name: MONEY for name in BALANCE_COLUMNS},
    **{name: MONEY for name in FLOW_COLUMNS},
    "days_past_due": pl.Int64(),
    "delinquency_bucket": pl.String(),
    "status": pl.String(),
    "flags": pl.String(),
}

ELIGIBILITY_SCHEMA: dict[str, pl.DataType] = {
    "is_eligible": pl.Boolean(),
    "ineligibility_reasons": pl.String(),
    "excess_concentration": MONEY,
}

# Snapshot columns a tape is built from (plus account_id for the reference).
SOURCE_COLUMNS: tuple[str, ...] = (
    "period_end",
    "vehicle_id",
    "is_active",
    "account_id",
    "opened_on",
    "months_on_book",
    "billing_state",
    "channel",
    "product_code",
    "risk_grade",
    "origination_fico",
    "current_fico",
    "current_score_model",
    "credit_limit_cents",
    "purchase_apr_bps",
    *BALANCE_COLUMNS.values(),
    *FLOW_COLUMNS.values(),
    "days_past_due",
    "delinquency_bucket",
    "status",
    "flags",
)


def tape_schema(with_eligibility: bool) -> dict[str, pl.DataType]:
    """The contract's columns and types, in order."""
    return {**TAPE_SCHEMA, **(ELIGIBILITY_SCHEMA if with_eligibility else {})}


def _require_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray):
        raise TypeError("the tape HMAC key must be bytes (TAPE_HMAC_KEY encoded as UTF-8)")
    if not key:
        raise ValueError("the tape HMAC key is empty; set TAPE_HMAC_KEY")


def account_ref(vehicle_id: str, account_id: int, key: bytes) -> str:
    """First 16 hex chars of HMAC-SHA256(key, "{vehicle_id}:{account_id}")."""
    _require_key(key)
    digest = hmac.digest(bytes(key), f"{vehicle_id}:{account_id}".encode(), hashlib.sha256)
    return digest.hex()[:ACCOUNT_REF_HEX_CHARS]


def with_account_ref(frame: pl.DataFrame, vehicle_id: str, key: bytes) -> pl.DataFrame:
    """`frame` with an `account_ref` column computed from its `account_id`
    (equal to `account_ref` row by row)."""
    digests = _ref_digests(frame, vehicle_id, key)
    return frame.with_columns(digests.bin.encode("hex").alias("account_ref"))


def _ref_digests(frame: pl.DataFrame, vehicle_id: str, key: bytes) -> pl.Series:
    """The first 8 bytes of each row's HMAC, as a Binary series.

    HMAC is computed from the key's precomputed inner and outer SHA-256
    states (RFC 2104): several times faster per row here than `hmac.digest`.
    """
    _require_key(key)
    ids = frame.get_column("account_id")
    if ids.null_count():
        raise ValueError("account_id has nulls; every tape row needs an account")
    inner, outer = _hmac_states(bytes(key))
    prefix, nbytes = f"{vehicle_id}:", ACCOUNT_REF_HEX_CHARS // 2

    def digest(account_id: int) -> bytes:
        h = inner.copy()
        h.update(f"{prefix}{account_id}".encode())
        o = outer.copy()
        o.update(h.digest())
        return o.digest()[:nbytes]

    return pl.Series(
        "account_ref", [digest(i) for i in ids.cast(pl.Int64).to_list()], dtype=pl.Binary
    )


def _hmac_states(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    block = hashlib.sha256().block_size
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    return (
        hashlib.sha256(bytes(b ^ 0x36 for b in key)),
        hashlib.sha256(bytes(b ^ 0x5C for b in key)),
    )


def _one_row_per_account(frame: pl.DataFrame, what: str) -> None:
    ids = frame.get_column("account_id")
    if ids.n_unique() != ids.len():
        raise ValueError(f"{what} has more than one row per account_id")


def build_tape(
    pool: pl.DataFrame,
    vehicle_id: str,
    key: bytes,
    eligibility: pl.DataFrame | None = None,
    allocation: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The loan tape of one vehicle's pool at one period end.

    `pool` is the snapshot's rows of the vehicle's pool (`snapshot.pool_members`);
    `eligibility` (`evaluate_eligibility`) adds the eligibility columns, with
    each account's excess concentration from `allocation` (the borrowing base
    allocation; 0 when absent). Columns and types are exactly
    `tape_schema(eligibility is not None)`.
    """
    missing = [c for c in SOURCE_COLUMNS if c not in pool.columns]
    if missing:
        raise ValueError(f"pool is missing snapshot columns {missing}")
    _one_row_per_account(pool, "pool")
    if pool.height:
        if not pool.get_column("is_active").all():
            raise ValueError(
                "pool has rows that are not active pool members (use snapshot.pool_members)"
            )
        others = pool.filter(pl.col("vehicle_id").ne_missing(vehicle_id)).height
        if others:
            raise ValueError(f"pool has {others} rows not designated to vehicle {vehicle_id!r}")
        if pool.get_column("period_end").n_unique() != 1:
            raise ValueError("pool spans more than one period_end")

    # The 8 digest bytes read big-endian sort exactly as their 16 hex chars,
    # and a UInt64 sorts several times faster than a string.
    digests = _ref_digests(pool, vehicle_id, key)
    order = digests.bin.reinterpret(dtype=pl.UInt64, endianness="big")
    if order.n_unique() != order.len():
        raise ValueError("account_ref collision: two accounts hash to the same reference")
    frame = pool.with_columns(digests.bin.encode("hex").alias("account_ref"), order.alias(_ORDER))

    columns: list[pl.Expr] = [
        pl.col("period_end"),
        pl.lit(vehicle_id, pl.String).alias("vehicle_id"),
        pl.col("account_ref"),
        pl.col("opened_on").dt.strftime("%Y-%m").alias("origination_month"),
        pl.col("months_on_book"),
        pl.col("billing_state"),
        pl.col("channel"),
        pl.col("product_code"),
        pl.col("risk_grade"),
        pl.col("origination_fico"),
        pl.col("current_fico"),
        pl.col("current_score_model"),
        cents_to_amount(pl.col("credit_limit_cents")).alias("credit_limit"),
        pl.col("purchase_apr_bps").alias("apr_bps"),
        *(cents_to_amount(pl.col(src)).alias(name) for name, src in BALANCE_COLUMNS.items()),
        *(cents_to_amount(pl.col(src)).alias(name) for name, src in FLOW_COLUMNS.items()),
        pl.col("days_past_due"),
        pl.col("delinquency_bucket"),
        pl.col("status"),
        pl.col("flags").fill_null(""),
    ]
    if eligibility is not None:
        frame = _join_eligibility(frame, eligibility, allocation)
        columns += [
            pl.col("is_eligible"),
            pl.col("ineligibility_reasons").fill_null(""),
            cents_to_amount(pl.col("excess_concentration_cents")).alias("excess_concentration"),
        ]
    elif allocation is not None:
        raise ValueError("an allocation needs the eligibility it was computed from")

    schema = tape_schema(eligibility is not None)
    tape = frame.select(*columns, _ORDER).sort(_ORDER).drop(_ORDER).cast(schema)
    require_tape_schema(tape)
    return tape


def _join_eligibility(
    frame: pl.DataFrame, eligibility: pl.DataFrame, allocation: pl.DataFrame | None
) -> pl.DataFrame:
    for needed in ("account_id", "is_eligible", "ineligibility_reasons"):
        if needed not in eligibility.columns:
            raise ValueError(f"eligibility is missing column {needed!r}")
    _one_row_per_account(eligibility, "eligibility")
    tested = eligibility.select("account_id", "is_eligible", "ineligibility_reasons")
    out = frame.join(tested, on="account_id", how="left", validate="1:1", maintain_order="left")
    untested = out.get_column("is_eligible").null_count()
    if untested:
        raise ValueError(f"{untested} pool accounts have no eligibility result")
    if allocation is None:
        return out.with_columns(pl.lit(0, pl.Int64).alias("excess_concentration_cents"))
    for needed in ("account_id", "excess_concentration_cents"):
        if needed not in allocation.columns:
            raise ValueError(f"allocation is missing column {needed!r}")
    _one_row_per_account(allocation, "allocation")
    excess = allocation.select("account_id", pl.col("excess_concentration_cents").cast(pl.Int64))
    return out.join(
        excess, on="account_id", how="left", validate="1:1", maintain_order="left"
    ).with_columns(pl.col("excess_concentration_cents").fill_null(0))


def require_tape_schema(tape: pl.DataFrame) -> None:
    """Refuse a frame whose columns or types are not exactly the contract's."""
    with_eligibility = "is_eligible" in tape.columns
    expected = tape_schema(with_eligibility)
    if list(tape.schema.items()) != list(expected.items()):
        raise ValueError(
            f"not a loan tape: columns {list(tape.schema.items())} "
            f"differ from the contract {list(expected.items())}"
        )
    if tape.get_column("account_ref").null_count():
        raise ValueError("a loan tape row has no account_ref")


def tape_parquet_bytes(tape: pl.DataFrame) -> bytes:
    """Parquet bytes of the tape; the same frame always gives the same bytes."""
    require_tape_schema(tape)
    buffer = io.BytesIO()
    tape.write_parquet(
        buffer, compression="zstd", compression_level=3, statistics=True, row_group_size=262_144
    )
    return buffer.getvalue()


def tape_csv_bytes(tape: pl.DataFrame) -> bytes:
    """CSV bytes of the tape: UTF-8, header, comma, RFC 4180 quoting, money as
    plain `-1234.56`, booleans `true`/`false`, dates ISO, nulls empty (an empty
    string is `""`, so null and empty stay distinguishable)."""
    require_tape_schema(tape)
    buffer = io.BytesIO()
    tape.write_csv(
        buffer,
        include_header=True,
        separator=",",
        quote_char='"',
        quote_style="necessary",
        null_value="",
        line_terminator="\n",
        date_format="%Y-%m-%d",
    )
    return buffer.getvalue()


def _sum_cents(tape: pl.DataFrame, *names: str) -> int:
    total = Decimal(0)
    for name in names:
        value = tape.get_column(name).sum()
        total += Decimal(0) if value is None else Decimal(value)
    cents = total.scaleb(2)
    if cents != cents.to_integral_value():
        raise ValueError(f"{names} do not sum to whole cents: {total}")
    return int(cents)


def tape_control_totals(tape: pl.DataFrame) -> dict[str, int]:
    """The manifest's control totals of a tape, all in integer cents."""
    require_tape_schema(tape)
    return {
        "account_count": tape.height,
        "principal_cents": _sum_cents(tape, "principal_balance"),
        "total_receivables_cents": _sum_cents(tape, "total_balance"),
        "collections_cents": _sum_cents(
            tape, "principal_collections", "interest_collections", "fee_collections"
        ),
        "chargeoffs_cents": _sum_cents(
            tape, "chargeoff_principal", "chargeoff_interest", "chargeoff_fees"
        ),
        "recoveries_cents": _sum_cents(tape, "recoveries"),
    }
