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
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from funding.ledger.snapshot import MEASURES
from funding.outputs.figures.frame import cents_to_amount

MONEY = pl.Decimal(18, 2)
ACCOUNT_REF_HEX_CHARS = 16
_ORDER = "__account_ref_order"
DICTIONARY_FILE = "loan_tape_dictionary.csv"


@dataclass(frozen=True)
class TapeColumn:
    """One tape column: its type, unit, what it means, where it comes from
    (`source`, for the dictionary) and how it is built from the snapshot's
    pool rows (`expr`). The tape and its dictionary are both made from these
    definitions, so they cannot drift apart."""

    name: str
    dtype: pl.DataType
    unit: str
    definition: str
    source: str
    expr: pl.Expr


def _money(name: str, source: str, definition: str, ledger: str) -> TapeColumn:
    return TapeColumn(name, MONEY, "USD", definition, ledger, cents_to_amount(pl.col(source)))


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
_BALANCE_TEXT = {
    "principal_balance": ("Principal receivable", "receivable:principal"),
    "interest_balance": ("Billed interest receivable", "receivable:interest"),
    "fee_balance": ("Billed fees receivable", "receivable:fees"),
    "total_balance": ("Total receivable: principal + interest + fees", "receivable:*"),
}
_FLOW_TEXT = {
    "purchases": "Purchases: PURCHASE lines on receivable:principal",
    "returns": "Merchant returns (dilution): minus RETURN lines on receivable:principal",
    "principal_collections": "Principal collections: minus PAYMENT and PAYMENT_REVERSAL "
    "lines on receivable:principal",
    "interest_collections": "Interest collections: minus PAYMENT and PAYMENT_REVERSAL "
    "lines on receivable:interest",
    "fee_collections": "Fee collections: minus PAYMENT and PAYMENT_REVERSAL lines on "
    "receivable:fees",
    "interest_billed": "Interest billed: INTEREST_CHARGE lines on receivable:interest",
    "fees_billed": "Fees billed (late, annual): FEE_CHARGE lines on receivable:fees",
    "interest_waivers": "Interest waived: minus WAIVER lines on receivable:interest",
    "fee_waivers": "Fees waived: minus WAIVER lines on receivable:fees",
    "chargeoff_principal": "Principal charged off: minus CHARGE_OFF lines on receivable:principal",
    "chargeoff_interest": "Interest charged off: minus CHARGE_OFF lines on receivable:interest",
    "chargeoff_fees": "Fees charged off: minus CHARGE_OFF lines on receivable:fees",
    "recoveries": "Recoveries on a charged-off account: RECOVERY lines on cash:collections",
}
_FLOWS = "journal_entries and postings: the period's flows (ledger.md)"

TAPE_COLUMNS: tuple[TapeColumn, ...] = (
    TapeColumn(
        "period_end",
        pl.Date(),
        "date",
        "Last day of the reporting month",
        "period_closes.period_end",
        pl.col("period_end"),
    ),
    TapeColumn(
        "vehicle_id",
        pl.String(),
        "",
        "The funding vehicle whose pool the account is in",
        "vehicle configuration id",
        pl.col("vehicle_id"),
    ),
    TapeColumn(
        "account_ref",
        pl.String(),
        "",
        "Pseudonymous account reference: the first 16 hex characters of HMAC-SHA256 with the "
        'key TAPE_HMAC_KEY over "{vehicle_id}:{account_id}"; stable across periods',
        "accounts.account_id (keyed hash; the id itself is never published)",
        pl.col("account_ref"),
    ),
    TapeColumn(
        "origination_month",
        pl.String(),
        "YYYY-MM",
        "Month the account was opened",
        "accounts.opened_on",
        pl.col("opened_on").dt.strftime("%Y-%m"),
    ),
    TapeColumn(
        "months_on_book",
        pl.Int64(),
        "months",
        "Whole calendar months from the opening month to the period end's month",
        "accounts.opened_on",
        pl.col("months_on_book"),
    ),
    TapeColumn(
        "billing_state",
        pl.String(),
        "",
        "Two-letter US billing state",
        "accounts.billing_state",
        pl.col("billing_state"),
    ),
    TapeColumn(
        "channel",
        pl.String(),
        "",
        "Acquisition channel: DIRECT, PARTNER or REFERRAL",
        "accounts.channel",
        pl.col("channel"),
    ),
    TapeColumn(
        "product_code",
        pl.String(),
        "",
        "Card product",
        "accounts.product_code",
        pl.col("product_code"),
    ),
    TapeColumn(
        "risk_grade",
        pl.String(),
        "",
        "Internal risk grade at origination, A (best) to E",
        "accounts.risk_grade",
        pl.col("risk_grade"),
    ),
    TapeColumn(
        "origination_fico",
        pl.Int64(),
        "score",
        "FICO score at origination; empty if none",
        "accounts.origination_fico",
        pl.col("origination_fico"),
    ),
    TapeColumn(
        "current_fico",
        pl.Int64(),
        "score",
        "Latest refreshed score on or before the period end; empty if none",
        "credit_scores.fico",
        pl.col("current_fico"),
    ),
    TapeColumn(
        "current_score_model",
        pl.String(),
        "",
        "Model of the current score",
        "credit_scores.score_model",
        pl.col("current_score_model"),
    ),
    TapeColumn(
        "credit_limit",
        MONEY,
        "USD",
        "Credit limit in force at the period end",
        "account_terms.credit_limit_cents",
        cents_to_amount(pl.col("credit_limit_cents")),
    ),
    TapeColumn(
        "apr_bps",
        pl.Int64(),
        "bps",
        "Purchase APR in force at the period end",
        "account_terms.purchase_apr_bps",
        pl.col("purchase_apr_bps"),
    ),
    *(
        _money(
            name,
            src,
            f"{_BALANCE_TEXT[name][0]} at the period end",
            f"postings on {_BALANCE_TEXT[name][1]} counting at the period",
        )
        for name, src in BALANCE_COLUMNS.items()
    ),
    *(
        _money(name, src, f"{_FLOW_TEXT[name]}, in the period", _FLOWS)
        for name, src in FLOW_COLUMNS.items()
    ),
    TapeColumn(
        "days_past_due",
        pl.Int64(),
        "days",
        "Days past due at the period end; 0 when current",
        "delinquency_snapshots.days_past_due",
        pl.col("days_past_due"),
    ),
    TapeColumn(
        "delinquency_bucket",
        pl.String(),
        "",
        "Days past due bucket: current, 1_29, 30_59, 60_89, 90_119, 120_149, 150_179, 180_plus; "
        "charged_off for a charged-off account",
        "delinquency_snapshots.days_past_due, journal_entries (CHARGE_OFF)",
        pl.col("delinquency_bucket"),
    ),
    TapeColumn(
        "status",
        pl.String(),
        "",
        "OPEN, CLOSED or CHARGED_OFF at the period end",
        "journal_entries (CHARGE_OFF), accounts.closed_on",
        pl.col("status"),
    ),
    TapeColumn(
        "flags",
        pl.String(),
        "",
        "Flags active at the period end, sorted, ;-separated; empty if none",
        "account_flags",
        pl.col("flags").fill_null(""),
    ),
)

ELIGIBILITY_COLUMNS: tuple[TapeColumn, ...] = (
    TapeColumn(
        "is_eligible",
        pl.Boolean(),
        "true/false",
        "Whether the account meets every eligibility criterion of the vehicle",
        "vehicle eligibility criteria",
        pl.col("is_eligible"),
    ),
    TapeColumn(
        "ineligibility_reasons",
        pl.String(),
        "",
        "Codes of every criterion the account fails, ;-separated; empty if eligible",
        "vehicle eligibility criteria",
        pl.col("ineligibility_reasons").fill_null(""),
    ),
    TapeColumn(
        "excess_concentration",
        MONEY,
        "USD",
        "Principal of the account excluded from the borrowing base by concentration limits",
        "borrowing base allocation",
        cents_to_amount(pl.col("excess_concentration_cents")),
    ),
)

TAPE_SCHEMA: dict[str, pl.DataType] = {c.name: c.dtype for c in TAPE_COLUMNS}
ELIGIBILITY_SCHEMA: dict[str, pl.DataType] = {c.name: c.dtype for c in ELIGIBILITY_COLUMNS}

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


def tape_columns(with_eligibility: bool) -> tuple[TapeColumn, ...]:
    """The contract's column definitions, in order."""
    return TAPE_COLUMNS + (ELIGIBILITY_COLUMNS if with_eligibility else ())


def tape_schema(with_eligibility: bool) -> dict[str, pl.DataType]:
    """The contract's columns and types, in order."""
    return {c.name: c.dtype for c in tape_columns(with_eligibility)}


def _require_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray):
        raise TypeError("the tape HMAC key must be bytes (TAPE_HMAC_KEY encoded as UTF-8)")
    if not key:
        raise ValueError("the tape HMAC key is empty; set TAPE_HMAC_KEY")


# The fixed text the key fingerprint is computed over (never an account id,
# so the fingerprint reveals nothing about any account_ref).
KEY_FINGERPRINT_LABEL = b"funding-platform/tape-key-fingerprint/v1"


def key_fingerprint(key: bytes) -> str:
    """`tape_key_fingerprint` of the manifest: the first 16 hex characters of
    HMAC-SHA256(key, KEY_FINGERPRINT_LABEL). It tells two keys apart and
    does not disclose the key."""
    _require_key(key)
    digest = hmac.digest(bytes(key), KEY_FINGERPRINT_LABEL, hashlib.sha256)
    return digest.hex()[:ACCOUNT_REF_HEX_CHARS]


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

    if eligibility is not None:
        frame = _join_eligibility(frame, eligibility, allocation)
    elif allocation is not None:
        raise ValueError("an allocation needs the eligibility it was computed from")
    frame = frame.with_columns(pl.lit(vehicle_id, pl.String).alias("vehicle_id"))
    columns = [c.expr.alias(c.name) for c in tape_columns(eligibility is not None)]

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


DICTIONARY_TYPES = {
    pl.Date(): "date",
    pl.String(): "string",
    pl.Int64(): "integer",
    pl.Boolean(): "boolean",
    MONEY: "decimal(18,2)",
}


def tape_dictionary(with_eligibility: bool) -> pl.DataFrame:
    """The tape's data dictionary: column, type, unit, definition, source."""
    columns = tape_columns(with_eligibility)
    return pl.DataFrame(
        {
            "column": [c.name for c in columns],
            "type": [DICTIONARY_TYPES[c.dtype] for c in columns],
            "unit": [c.unit for c in columns],
            "definition": [c.definition for c in columns],
            "source": [c.source for c in columns],
        }
    )


def tape_dictionary_csv(tape: pl.DataFrame) -> bytes:
    """`loan_tape_dictionary.csv` of a tape (UTF-8, header, RFC 4180 quoting)."""
    require_tape_schema(tape)
    dictionary = tape_dictionary("is_eligible" in tape.columns)
    buffer = io.BytesIO()
    dictionary.write_csv(buffer, include_header=True, quote_style="necessary", line_terminator="\n")
    return buffer.getvalue()
