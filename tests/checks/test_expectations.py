"""Great Expectations suites, distribution guards and their config (issue 6).

A corpus of broken inputs, each made by mutating a healthy snapshot or loan
tape built from a generated ledger, with the check it must trip and the
message it must show; the healthy frames pass every check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
import yaml
from pydantic import ValidationError

from checks.guards import distribution_guards
from checks.outcome import MAX_OFFENDING_ROWS, CheckOutcome
from checks.results import run_suite
from checks.suites import SNAPSHOT_ID, TAPE_ID, snapshot_suite, suite_checks, tape_suite
from funding.data_quality import GUARD_NAMES, DataQualityConfig
from funding.demo import SeedConfig, seed_ledger
from funding.ledger.database import read_ledger
from funding.ledger.extract import extract_periods
from funding.ledger.snapshot import pool_members
from funding.outputs.tape import build_tape

KEY = b"test-tape-key"
VEHICLE = "wh1"
LABEL = "wh1 2025-03"

# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory) -> dict[date, pl.DataFrame]:
    url = f"sqlite:///{tmp_path_factory.mktemp('ledger') / 'ledger.sqlite'}"
    seed_ledger(url, SeedConfig(accounts=300, months=3))
    with read_ledger(url) as session:
        return {close.period_end: snapshot for close, snapshot in extract_periods(session)}


@pytest.fixture(scope="module")
def snapshot(snapshots) -> pl.DataFrame:
    return snapshots[max(snapshots)]


@pytest.fixture(scope="module")
def tape(snapshot) -> pl.DataFrame:
    return build_tape(pool_members(snapshot, VEHICLE), VEHICLE, KEY)


@pytest.fixture(scope="module")
def suites():
    # Building the suites imports GX (seconds): once per module.
    return {"snapshot": snapshot_suite(), "tape": tape_suite()}


def run(suites, kind: str, frame: pl.DataFrame) -> dict[str, CheckOutcome]:
    id_column = SNAPSHOT_ID if kind == "snapshot" else TAPE_ID
    outcomes = run_suite(frame, suites[kind], id_column, LABEL)
    assert [o.name for o in outcomes] == list(suite_checks(suites[kind]))
    return {o.name: o for o in outcomes}


def at(frame: pl.DataFrame, rows: list[int], column: str, value: Any) -> pl.DataFrame:
    """`frame` with `column` set to `value` on the given row numbers (type kept)."""
    hit = pl.int_range(pl.len()).is_in(rows)
    return frame.with_columns(
        pl.when(hit)
        .then(pl.lit(value))
        .otherwise(pl.col(column))
        .cast(frame.schema[column])
        .alias(column)
    )


def row_where(frame: pl.DataFrame, condition: pl.Expr) -> int:
    return frame.with_row_index("_i").filter(condition).get_column("_i")[0]


# ------------------------------------------------------------------- healthy


def test_healthy_snapshots_pass_every_check(suites, snapshots):
    for period_end, frame in snapshots.items():
        outcomes = run(suites, "snapshot", frame)
        failed = {n: o.summary for n, o in outcomes.items() if not o.passed}
        assert not failed, f"{period_end}: {failed}"
        assert all(o.summary.startswith(LABEL) for o in outcomes.values())


def test_healthy_tapes_pass_every_check(suites, snapshot):
    for vehicle in ("wh1", "trust1"):
        tape = build_tape(pool_members(snapshot, vehicle), vehicle, KEY)
        assert tape.height > 0
        failed = {n: o.summary for n, o in run(suites, "tape", tape).items() if not o.passed}
        assert not failed, f"{vehicle}: {failed}"


def test_eligibility_tape_suite_checks_the_eligibility_columns(snapshot):
    pool = pool_members(snapshot, VEHICLE)
    eligibility = pool.select(
        "account_id", is_eligible=pl.lit(True), ineligibility_reasons=pl.lit("")
    )
    tape = build_tape(pool, VEHICLE, KEY, eligibility=eligibility)
    suite = tape_suite(eligibility=True)
    outcomes = {o.name: o for o in run_suite(tape, suite, TAPE_ID, LABEL)}
    assert all(o.passed for o in outcomes.values()), [
        o.summary for o in outcomes.values() if not o.passed
    ]
    broken = run_suite(tape.drop("is_eligible"), suite, TAPE_ID, LABEL)
    assert "missing columns: is_eligible" in {o.name: o for o in broken}["columns_present"].summary


def test_suite_checks_name_every_check_and_its_severity(suites):
    snapshot_checks = suite_checks(suites["snapshot"])
    assert snapshot_checks["fico_in_range"] is True
    assert snapshot_checks["posting_after_chargeoff"] is False
    assert suite_checks(suites["tape"])["chargedoff_zero_receivables"] is False
    assert {"keys_not_null", "account_unique", "no_personal_data_columns", "column_types"} <= set(
        snapshot_checks
    )


# -------------------------------------------------------------- broken corpus


@dataclass(frozen=True)
class Broken:
    id: str
    kind: str  # "snapshot" | "tape"
    mutate: Callable[[pl.DataFrame], pl.DataFrame]
    check: str  # the check it must trip
    message: str  # a substring of that check's summary
    also: frozenset[str] = frozenset()  # other checks it trips, by design
    value_column: str | None = None  # an offending row shows this column


def _duplicate_first(frame: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([frame, frame.head(1)])


def _charge_off(frame: pl.DataFrame, posted_after: bool) -> pl.DataFrame:
    """Account of row 0 charged off with a balance left (posted after or not)."""
    i = row_where(frame, pl.col("principal_cents") > 0)
    frame = at(frame, [i], "status", "CHARGED_OFF")
    frame = at(frame, [i], "delinquency_bucket", "charged_off")
    frame = at(frame, [i], "charged_off_on", frame["period_end"][0])
    return at(frame, [i], "posted_after_chargeoff", posted_after)


CORPUS: list[Broken] = [
    Broken("null-key", "snapshot", lambda f: at(f, [3], "account_id", None), "keys_not_null",
           "account_id: 1 of 300 rows", value_column="period_end"),
    Broken("null-key-tape", "tape", lambda f: at(f, [3], "vehicle_id", None), "keys_not_null",
           "vehicle_id: 1 of"),
    Broken("duplicated-account", "snapshot", _duplicate_first, "account_unique",
           "period_end, account_id: 2 of 301 rows", value_column="vehicle_id"),
    Broken("duplicated-account-tape", "tape", _duplicate_first, "account_unique",
           "period_end, vehicle_id, account_ref: 2 of"),
    Broken("fico-900", "snapshot", lambda f: at(f, [5], "origination_fico", 900), "fico_in_range",
           "origination_fico: 1 of 300 rows, e.g. 900", value_column="origination_fico"),
    Broken("current-fico-250-tape", "tape", lambda f: at(f, [0], "current_fico", 250),
           "fico_in_range", "current_fico: 1 of", value_column="current_fico"),
    Broken("negative-credit-limit", "snapshot", lambda f: at(f, [7], "credit_limit_cents", -50_000),
           "credit_limit_positive", "credit_limit_cents: 1 of 300 rows, e.g. -50000",
           value_column="credit_limit_cents"),
    Broken("negative-credit-limit-tape", "tape",
           lambda f: at(f, [2], "credit_limit", Decimal("-500.00")), "credit_limit_positive",
           "credit_limit: 1 of", value_column="credit_limit"),
    Broken("dpd-45-in-1_29", "snapshot",
           lambda f: at(at(f, [9], "days_past_due", 45), [9], "delinquency_bucket", "1_29"),
           "dpd_bucket_consistent", "delinquency_bucket vs the bucket of days_past_due: 1 of 300 "
           "rows, e.g. (1_29, 30_59)", value_column="days_past_due"),
    Broken("dpd-45-in-1_29-tape", "tape",
           lambda f: at(at(f, [1], "days_past_due", 45), [1], "delinquency_bucket", "1_29"),
           "dpd_bucket_consistent", "e.g. (1_29, 30_59)", value_column="delinquency_bucket"),
    Broken("negative-dpd", "snapshot", lambda f: at(f, [4], "days_past_due", -3),
           "dpd_non_negative", "days_past_due: 1 of 300 rows, e.g. -3"),
    Broken("apr-10000", "snapshot", lambda f: at(f, [4], "purchase_apr_bps", 10_000),
           "apr_in_range", "purchase_apr_bps: 1 of 300 rows, e.g. 10000"),
    Broken("unknown-bucket", "snapshot", lambda f: at(f, [4], "delinquency_bucket", "30-59"),
           "bucket_in_domain", "delinquency_bucket: 1 of 300 rows, e.g. 30-59",
           also=frozenset({"dpd_bucket_consistent"})),
    Broken("unknown-status", "tape", lambda f: at(f, [4], "status", "FROZEN"), "status_in_domain",
           "status: 1 of", value_column="status"),
    Broken("not-a-state", "snapshot", lambda f: at(f, [8], "billing_state", "XX"),
           "state_is_us_code", "billing_state: 1 of 300 rows, e.g. XX"),
    Broken("opened-after-period", "snapshot", lambda f: at(f, [6], "opened_on", date(2025, 4, 2)),
           "dates_not_after_period_end", "period_end vs opened_on: 1 of",
           value_column="opened_on"),
    Broken("charged-off-after-period", "snapshot",
           lambda f: at(f, [6], "charged_off_on", date(2025, 5, 1)), "dates_not_after_period_end",
           "period_end vs charged_off_on: 1 of", value_column="charged_off_on"),
    Broken("originated-after-period-tape", "tape",
           lambda f: at(f, [6], "origination_month", "2025-04"), "dates_not_after_period_end",
           "the period_end month vs origination_month: 1 of", value_column="origination_month"),
    Broken("negative-months-on-book", "snapshot", lambda f: at(f, [6], "months_on_book", -1),
           "months_on_book_non_negative", "months_on_book: 1 of 300 rows, e.g. -1"),
    Broken("total-off-by-a-cent", "snapshot",
           lambda f: f.with_columns(pl.col("total_cents") + (pl.int_range(pl.len()) == 11)),
           "total_is_sum", "total_cents vs principal + interest + fees: 1 of 300 rows",
           value_column="principal_cents"),
    Broken("total-off-by-a-cent-tape", "tape",
           lambda f: at(f, [0], "total_balance", f["total_balance"][0] + Decimal("0.01")),
           "total_is_sum", "total_balance vs principal + interest + fee balances: 1 of",
           value_column="fee_balance"),
    Broken("charged-off-with-balance", "snapshot", lambda f: _charge_off(f, posted_after=False),
           "chargedoff_zero_receivables", "1 of 300 rows", value_column="principal_cents"),
    Broken("posting-after-charge-off", "snapshot", lambda f: _charge_off(f, posted_after=True),
           "posting_after_chargeoff", "failed (warning)", value_column="posted_after_chargeoff"),
    Broken("missing-column", "snapshot", lambda f: f.drop("months_on_book"), "columns_present",
           "missing columns: months_on_book",
           also=frozenset({"column_types", "months_on_book_non_negative"})),
    Broken("wrong-type-tape", "tape",
           lambda f: f.with_columns(pl.col("months_on_book").cast(pl.Int32)),
           "column_types", "months_on_book is Int32, not Int64"),
    Broken("email-column-tape", "tape",
           lambda f: f.with_columns(email=pl.format("c{}@example.com", pl.int_range(pl.len()))),
           "no_personal_data_columns", "personal-data columns present: email",
           also=frozenset({"no_personal_data_values"})),
    Broken("raw-account-id-tape", "tape",
           lambda f: f.with_columns(account_id=pl.int_range(pl.len())),
           "no_personal_data_columns", "personal-data columns present: account_id"),
    Broken("email-value-tape", "tape", lambda f: at(f, [4], "flags", "jane.doe@example.com"),
           "no_personal_data_values", "values that look like personal data in flags (email)"),
    Broken("ssn-value-tape", "tape", lambda f: at(f, [5], "current_score_model", "123-45-6789"),
           "no_personal_data_values", "current_score_model (ssn)"),
    Broken("phone-value-snapshot", "snapshot",
           lambda f: at(f, [5], "close_reason", "(415) 555-0134"),
           "no_personal_data_values", "close_reason (phone)"),
    Broken("raw-id-as-ref-tape", "tape", lambda f: at(f, [0], "account_ref", "12345"),
           "account_ref_format", "account_ref: 1 of"),
]  # fmt: skip


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.id)
def test_broken_input_trips_its_check(case: Broken, suites, snapshot, tape):
    healthy = snapshot if case.kind == "snapshot" else tape
    outcomes = run(suites, case.kind, case.mutate(healthy))
    failed = {n for n, o in outcomes.items() if not o.passed}
    assert failed == {case.check} | case.also, {n: outcomes[n].summary for n in failed}

    outcome = outcomes[case.check]
    assert case.message in outcome.summary, outcome.summary
    assert outcome.summary.startswith(f"{LABEL}: {case.check} failed")
    id_column = SNAPSHOT_ID if case.kind == "snapshot" else TAPE_ID
    if case.check not in {"columns_present", "column_types", "no_personal_data_columns"}:
        assert outcome.offending, outcome
        assert 0 < len(outcome.offending) <= MAX_OFFENDING_ROWS
        assert all(id_column in row and "row" in row for row in outcome.offending)
        assert f"{id_column}s " in outcome.summary
    if case.value_column:
        assert all(case.value_column in row for row in outcome.offending)


def test_severities(suites, snapshot):
    outcomes = run(suites, "snapshot", _charge_off(snapshot, posted_after=True))
    assert outcomes["posting_after_chargeoff"].blocking is False
    assert outcomes["chargedoff_zero_receivables"].passed  # the warning, not the error
    assert outcomes["fico_in_range"].blocking is True
    tape_outcomes = run(suites, "tape", build_tape(pool_members(snapshot, VEHICLE), VEHICLE, KEY))
    assert tape_outcomes["chargedoff_zero_receivables"].blocking is False


def test_personal_data_is_not_copied_into_the_outcome(suites, tape):
    email = "jane.doe@example.com"
    outcome = run(suites, "tape", at(tape, [4], "flags", email))["no_personal_data_values"]
    assert email not in repr(outcome)
    assert outcome.offending == (
        {"row": 4, TAPE_ID: tape[TAPE_ID][4], "column": "flags", "looks_like": "email"},
    )


def test_hex_refs_and_codes_are_not_mistaken_for_phone_numbers(suites, tape):
    refs = pl.Series(TAPE_ID, ["0123456789abcdef", "5551234567890123", "a1234567890bcdef"])
    sample = tape.head(3).with_columns(refs)
    assert run(suites, "tape", sample)["no_personal_data_values"].passed


def test_offending_rows_are_capped_and_carry_the_id(suites, snapshot, tape):
    rows = list(range(0, 100, 2))  # 50 rows
    outcome = run(suites, "snapshot", at(snapshot, rows, "origination_fico", 900))["fico_in_range"]
    assert outcome.observed == 50
    assert "origination_fico: 50 of 300 rows" in outcome.summary
    assert len(outcome.offending) == MAX_OFFENDING_ROWS
    assert [r["row"] for r in outcome.offending] == rows[:MAX_OFFENDING_ROWS]
    for r in outcome.offending:
        assert r[SNAPSHOT_ID] == snapshot[SNAPSHOT_ID][r["row"]]
        assert r["origination_fico"] == 900

    tape_outcome = run(suites, "tape", at(tape, list(range(40)), "credit_limit", Decimal("-1.00")))
    offending = tape_outcome["credit_limit_positive"].offending
    assert len(offending) == MAX_OFFENDING_ROWS
    assert all(r[TAPE_ID] and r["credit_limit"] == Decimal("-1.00") for r in offending)
    assert all(SNAPSHOT_ID not in r for r in offending)  # the tape names rows by account_ref


def test_a_null_key_row_is_found_by_its_row_number(suites, snapshot):
    outcome = run(suites, "snapshot", at(snapshot, [3], "account_id", None))["keys_not_null"]
    assert outcome.offending == (
        {"row": 3, SNAPSHOT_ID: None, "period_end": snapshot["period_end"][3]},
    )


# ------------------------------------------------------------ distribution


def guards(current, previous, config=None) -> dict[str, CheckOutcome]:
    return {
        o.name: o
        for o in distribution_guards(current, previous, config or DataQualityConfig(), LABEL)
    }


def test_guards_pass_on_a_normal_month(snapshot):
    previous = snapshot.filter(pl.col("account_id") % 20 != 0)  # 5% fewer accounts
    outcomes = guards(snapshot, previous)
    assert set(outcomes) == set(GUARD_NAMES)
    assert all(o.passed for o in outcomes.values()), [o.summary for o in outcomes.values()]
    assert all(o.blocking is False for o in outcomes.values())


def test_guards_without_a_previous_period_pass_with_a_note(snapshot):
    outcomes = guards(snapshot, None)
    assert outcomes["pool_balance_change"].passed
    assert "no previous period to compare with" in outcomes["pool_balance_change"].summary
    assert outcomes["account_count_change"].observed is None


def test_pool_balance_halving_is_a_warning(snapshot, tape):
    halved = snapshot.with_columns(pl.col("principal_cents") // 2)
    outcome = guards(halved, snapshot)["pool_balance_change"]
    assert (outcome.passed, outcome.blocking) == (False, False)
    assert Decimal("-50.5") < outcome.observed < Decimal("-49.5")
    assert outcome.expected == Decimal(25)
    assert outcome.summary.startswith(f"{LABEL}: pool_balance_change failed (warning)")
    assert "beyond the 25% allowed" in outcome.summary
    # The same on the tape's decimal principal.
    tape_halved = tape.with_columns(
        (pl.col("principal_balance") / 2).cast(tape.schema["principal_balance"])
    )
    assert not guards(tape_halved, tape)["pool_balance_change"].passed
    # Blocking when the vehicle says so.
    strict = DataQualityConfig(blocking_guards=["pool_balance_change"])
    blocking = guards(halved, snapshot, strict)["pool_balance_change"]
    assert (blocking.passed, blocking.blocking) == (False, True)
    assert "(warning)" not in blocking.summary


def test_account_count_drop_beyond_threshold(snapshot):
    previous = pl.concat([snapshot, snapshot.with_columns(pl.col("account_id") + 10_000)])
    outcome = guards(snapshot, previous)["account_count_change"]
    assert not outcome.passed and outcome.observed == Decimal("-50.00")
    loose = DataQualityConfig(max_account_count_change_pct=60)
    assert guards(snapshot, previous, loose)["account_count_change"].passed


def test_missing_fico_share_above_bound(snapshot):
    active = snapshot.filter(pl.col("is_active"))
    share_ids = active["account_id"].head(active.height // 10)  # 10% > 5%
    broken = snapshot.with_columns(
        pl.when(pl.col("account_id").is_in(share_ids.implode()))
        .then(None)
        .otherwise(pl.col("origination_fico"))
        .alias("origination_fico")
    )
    outcome = guards(broken, snapshot)["missing_fico_share"]
    assert (outcome.passed, outcome.blocking) == (False, False)
    assert outcome.observed > Decimal("0.05") and outcome.expected == Decimal("0.05")
    assert "above the bound 0.05" in outcome.summary
    assert guards(broken, snapshot, DataQualityConfig(max_missing_fico_share=0.2))[
        "missing_fico_share"
    ].passed


# ------------------------------------------------------------------ config


def test_config_defaults_and_exact_decimals():
    default = DataQualityConfig()
    assert default.max_account_count_change_pct == Decimal(25)
    assert default.max_pool_balance_change_pct == Decimal(25)
    assert default.max_missing_fico_share == Decimal("0.05")
    assert default.blocking_guards == ()
    raw = yaml.safe_load(
        "data_quality:\n"
        "  max_missing_fico_share: 0.07\n"
        "  max_pool_balance_change_pct: 12.5\n"
        "  blocking_guards: [missing_fico_share]\n"
    )["data_quality"]
    config = DataQualityConfig.model_validate(raw)
    assert config.max_missing_fico_share == Decimal("0.07")  # not 0.07000000000000000666
    assert str(config.max_pool_balance_change_pct) == "12.5"
    assert config.is_blocking("missing_fico_share") and not config.is_blocking(
        "pool_balance_change"
    )


@pytest.mark.parametrize(
    "raw, problem",
    [
        ({"max_fico_share": 0.1}, "Extra inputs are not permitted"),
        ({"max_missing_fico_share": 1.5}, "less than or equal to 1"),
        ({"max_pool_balance_change_pct": -1}, "greater than or equal to 0"),
        ({"max_account_count_change_pct": True}, "not a boolean"),
        ({"blocking_guards": ["fico"]}, "account_count_change"),
        ({"blocking_guards": ["pool_balance_change"] * 2}, "more than once"),
    ],
)
def test_config_rejects(raw, problem):
    with pytest.raises(ValidationError, match=problem):
        DataQualityConfig.model_validate(raw)
