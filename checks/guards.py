"""Distribution guards: a period's pool against the previous period's, to
catch a broken feed (half the accounts missing, balances doubled, FICO
dropped) without alarming on normal months."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import polars as pl

from checks.outcome import CheckOutcome
from funding.data_quality import DataQualityConfig


def _pool(frame: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    """Pool rows and principal column: a snapshot's active accounts (cents), or
    every row of a tape (`principal_balance`)."""
    if "principal_cents" in frame.columns:
        pool = frame.filter(pl.col("is_active")) if "is_active" in frame.columns else frame
        return pool, "principal_cents"
    return frame, "principal_balance"


def _principal(pool: pl.DataFrame, column: str) -> Decimal:
    total = pool.get_column(column).sum()
    if column.endswith("_cents"):
        return Decimal(int(total or 0)).scaleb(-2)
    return Decimal(total or 0)


def _change_guard(
    name: str,
    what: str,
    current: Decimal,
    previous: Decimal | None,
    limit: Decimal,
    blocking: bool,
    label: str,
) -> CheckOutcome:
    details = {"current": current, "previous": previous}
    if previous is None or previous == 0:
        note = "no previous period" if previous is None else "the previous period had none"
        return CheckOutcome(
            name,
            True,
            f"{label}: {name} passed: {what} {current}; {note} to compare with",
            observed=None,
            expected=limit,
            blocking=blocking,
            details=details,
        )
    change = ((current - previous) * 100 / abs(previous)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_EVEN
    )
    passed = abs(change) <= limit
    verdict = "passed" if passed else "failed" + ("" if blocking else " (warning)")
    return CheckOutcome(
        name,
        passed,
        f"{label}: {name} {verdict}: {what} {current} against {previous} the previous period, "
        f"a change of {change}%, {'within' if passed else 'beyond'} the {limit}% allowed",
        observed=change,
        expected=limit,
        blocking=blocking,
        details=details,
    )


def distribution_guards(
    current: pl.DataFrame,
    previous: pl.DataFrame | None,
    config: DataQualityConfig,
    label: str,
) -> list[CheckOutcome]:
    """Guards against a broken feed: pool account count and pool principal
    within the configured % of the previous period's, and the share of pool
    accounts without an origination FICO within its bound.

    Frames are snapshots (pool = active accounts; pass
    `snapshot.pool_members(snapshot, vehicle_id)` for one vehicle) or tapes
    (every row). Outcomes are warnings (`blocking=False`) unless named in
    `config.blocking_guards`; `observed` is the change in % (or the share),
    `expected` the threshold."""
    pool, principal = _pool(current)
    before = _pool(previous) if previous is not None else None
    outcomes = [
        _change_guard(
            "account_count_change",
            "pool accounts",
            Decimal(pool.height),
            Decimal(before[0].height) if before else None,
            config.max_account_count_change_pct,
            config.is_blocking("account_count_change"),
            label,
        ),
        _change_guard(
            "pool_balance_change",
            "pool principal",
            _principal(pool, principal),
            _principal(*before) if before else None,
            config.max_pool_balance_change_pct,
            config.is_blocking("pool_balance_change"),
            label,
        ),
    ]
    bound = config.max_missing_fico_share
    blocking = config.is_blocking("missing_fico_share")
    missing = pool.get_column("origination_fico").null_count()
    share = (
        (Decimal(missing) / pool.height).quantize(Decimal("0.0001")) if pool.height else Decimal(0)
    )
    passed = share <= bound
    verdict = "passed" if passed else "failed" + ("" if blocking else " (warning)")
    outcomes.append(
        CheckOutcome(
            "missing_fico_share",
            passed,
            f"{label}: missing_fico_share {verdict}: {missing} of {pool.height} pool accounts "
            f"without an origination FICO, a share of {share}, "
            f"{'within' if passed else 'above'} the bound {bound}",
            observed=share,
            expected=bound,
            blocking=blocking,
            details={"missing": missing, "accounts": pool.height},
        )
    )
    return outcomes
