"""Distribution-guard thresholds of a vehicle: its YAML `data_quality:` block.

The guards compare a period's pool with the previous period's to catch a
broken feed (half the accounts missing, balances doubled, FICO dropped) without
alarming on normal months. They are warnings unless the vehicle lists them
under `blocking_guards`. Thresholds are exact Decimals: a YAML `0.05` is read
from its literal, not from its binary float value.

    data_quality:
      max_account_count_change_pct: 25     # |count / previous - 1| * 100
      max_pool_balance_change_pct: 25      # |principal / previous - 1| * 100
      max_missing_fico_share: 0.05         # fraction of pool accounts
      blocking_guards: [pool_balance_change]
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from funding.exact import ExactDecimal

GuardName = Literal["account_count_change", "pool_balance_change", "missing_fico_share"]
GUARD_NAMES: tuple[str, ...] = get_args(GuardName)

ChangePct = Annotated[ExactDecimal, Field(ge=0)]
Share = Annotated[ExactDecimal, Field(ge=0, le=1)]


class DataQualityConfig(BaseModel):
    """Thresholds of the distribution guards; every key is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_account_count_change_pct: ChangePct = Decimal(25)
    max_pool_balance_change_pct: ChangePct = Decimal(25)
    max_missing_fico_share: Share = Decimal("0.05")
    blocking_guards: tuple[GuardName, ...] = ()

    @field_validator("blocking_guards")
    @classmethod
    def _no_repeats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({g for g in value if value.count(g) > 1})
        if repeated:
            raise ValueError(f"guards listed more than once: {', '.join(repeated)}")
        return value

    def is_blocking(self, guard: str) -> bool:
        if guard not in GUARD_NAMES:
            raise KeyError(f"unknown guard {guard!r}; known: {', '.join(GUARD_NAMES)}")
        return guard in self.blocking_guards
