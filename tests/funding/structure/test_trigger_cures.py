"""Curable triggers (funding.md, "Triggers and status"): `cure: after_waterfall`
tests a trigger on the state after the period's cure steps; `cure_periods: N`
lets a breach take effect only in its N-th consecutive period.

Amounts are cents. The warehouse is test_waterfall's (one class ADV at
SOFR30A + 250 bps, ACT/360); the fixing is 400 bps, so May (31 days) accrues
balance x 6.5% x 31/360.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from funding.structure.config import TriggerConfig
from funding.structure.waterfall import VehicleState, WaterfallResult, initial_state
from tests.funding.structure.test_waterfall import (
    JUNE_2025,
    MAY_2025,
    config,
    month,
    pool,
    rows,
    run,
    trust_doc,
    warehouse_doc,
)

FIXINGS = {"SOFR30A": 400}
ADVANCE = 10_000_000  # 100,000.00 drawn
BASE = 7_820_639  # 78,206.39: a deficiency of 21,793.61


def bb_trigger(**cure: Any) -> dict[str, Any]:
    return {
        "name": "bb_deficiency",
        "ratio": "borrowing_base_deficiency",
        "op": ">",
        "threshold": 0,
        "effect": "early_amortization",
        **cure,
    }


def warehouse(**cure: Any):
    doc = warehouse_doc(triggers=[bb_trigger(**cure)])
    doc["notes"][0]["initial_balance_cents"] = ADVANCE
    return config(doc)


def period(cfg, previous, when, *, collections: int, base: int) -> WaterfallResult:
    return run(
        cfg,
        previous,
        when,
        pool=pool(1_000_000, principal=collections),
        fixings=FIXINGS,
        borrowing_base_cents=base,
    )


# ---------------------------------------------------------------------------
# the case: a 21,793.61 shortfall that the month's collections cure


def test_a_deficiency_tested_before_the_waterfall_amortizes_the_whole_advance() -> None:
    result = period(warehouse(), None, MAY_2025, collections=3_000_000, base=BASE)
    (test,) = result.trigger_tests
    assert test.value == 2_179_361 and test.breached and test.in_effect
    # every cent of principal collections repays the advance, and keeps doing so
    assert rows(result, "principal")[0] == (
        1,
        "principal_sequential",
        "ADV",
        ADVANCE,
        3_000_000,
        7_000_000,
        0,
        0,
    )
    assert result.state.status == "early_amortization"


def test_the_same_deficiency_cured_from_collections_is_no_breach() -> None:
    result = period(
        warehouse(cure="after_waterfall"), None, MAY_2025, collections=3_000_000, base=BASE
    )
    # 10,000,000 - 7,820,639 = 2,179,361 due to the cure; 3,000,000 - 2,179,361 released
    assert rows(result, "principal") == [
        (1, "borrowing_base_cure", "ADV", 2_179_361, 2_179_361, 0, 0, 820_639),
        (2, "release", "seller", 820_639, 820_639, 0, 0, 0),
    ]
    (test,) = result.trigger_tests
    assert test.tested == "after_waterfall"
    assert test.value == 0 and not test.breached and not test.in_effect
    assert result.state.status == "revolving"
    assert result.state.advances_cents == BASE
    assert result.state.trigger_breaches == {}
    # the vehicle still revolves: next month it draws up to a higher base
    june = period(
        warehouse(cure="after_waterfall"), result.state, JUNE_2025, collections=0, base=9_000_000
    )
    assert rows(june, "facility") == [(1, "draw", "ADV", 1_179_361, 1_179_361, 0, 0, 0)]


def test_a_deficiency_left_after_the_cure_amortizes_from_the_next_period() -> None:
    cfg = warehouse(cure="after_waterfall")
    may = period(cfg, None, MAY_2025, collections=1_000_000, base=BASE)
    # the cure pays what there is; 2,179,361 - 1,000,000 = 1,179,361 is left
    assert rows(may, "principal")[0] == (
        1,
        "borrowing_base_cure",
        "ADV",
        2_179_361,
        1_000_000,
        1_179_361,
        0,
        0,
    )
    (test,) = may.trigger_tests
    assert test.value == 1_179_361 and test.in_effect
    assert may.waterfall_status == "revolving" and may.state.status == "early_amortization"
    assert rows(may, "facility") == [(1, "draw", "ADV", 0, 0, 0, 0, 0)]
    # June amortizes and draws nothing, though the base now exceeds the advance
    june = period(cfg, may.state, JUNE_2025, collections=500_000, base=20_000_000)
    assert rows(june, "principal")[0] == (
        1,
        "principal_sequential",
        "ADV",
        9_000_000,
        500_000,
        8_500_000,
        0,
        0,
    )
    assert rows(june, "facility") == [(1, "draw", "ADV", 0, 0, 0, 0, 0)]
    assert june.waterfall_status == june.state.status == "early_amortization"


# ---------------------------------------------------------------------------
# cure_periods


def test_a_breach_takes_effect_only_in_its_nth_consecutive_period() -> None:
    cfg = warehouse(cure="after_waterfall", cure_periods=2)
    may = period(cfg, None, MAY_2025, collections=1_000_000, base=BASE)
    (test,) = may.trigger_tests
    assert test.breached and test.consecutive_breaches == 1 and not test.in_effect
    assert may.state.status == "revolving" and may.state.trigger_breaches == {"bb_deficiency": 1}
    # still short in June: 9,000,000 advances, base 8,000,000, 400,000 collected
    june = period(cfg, may.state, JUNE_2025, collections=400_000, base=8_000_000)
    (test,) = june.trigger_tests
    assert test.value == 600_000 and test.consecutive_breaches == 2 and test.in_effect
    assert june.state.status == "early_amortization"


def test_a_cured_period_restarts_the_count() -> None:
    cfg = warehouse(cure="after_waterfall", cure_periods=2)
    may = period(cfg, None, MAY_2025, collections=1_000_000, base=BASE)
    june = period(cfg, may.state, JUNE_2025, collections=1_000_000, base=9_000_000)
    assert june.trigger_tests[0].value == 0 and june.state.trigger_breaches == {}
    july = period(cfg, june.state, month(2025, 7), collections=0, base=8_000_000)
    (test,) = july.trigger_tests
    assert test.consecutive_breaches == 1 and not test.in_effect
    assert july.state.status == "revolving"


def test_a_cash_trap_with_cure_periods_traps_from_its_nth_breach_and_only_while_breached() -> None:
    trap = {
        "name": "dq",
        "ratio": "delinquency_60_plus_3m_avg",
        "op": ">",
        "threshold": "0.06",
        "effect": "cash_trap",
        "cure_periods": 2,
    }
    cfg = config(trust_doc(triggers=[trap]))
    state: VehicleState | None = None
    actions = []
    for when, dq in (
        (MAY_2025, "0.07"),
        (JUNE_2025, "0.08"),
        (month(2025, 7), "0.065"),
        (month(2025, 8), "0.05"),
    ):
        result = run(
            cfg,
            state,
            when,
            pool=pool(4_000_000, principal=1_000_000, beginning=200_000_000),
            ratios={"delinquency_60_plus_3m_avg": dq},
        )
        actions.append(rows(result, "interest")[-1][1])
        state = result.state
    assert actions == ["release", "release_to_reserve", "release_to_reserve", "release"]


# ---------------------------------------------------------------------------
# configuration and state


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ratio": "delinquency_60_plus_3m_avg", "cure": "after_waterfall"}, "waterfall changes"),
        ({"effect": "cash_trap", "cure": "after_waterfall"}, "applies to early_amortization"),
        ({"cure": "next_month"}, "before_waterfall"),
        ({"cure_periods": 0}, "greater than or equal to 1"),
        ({"cure_periods": 13}, "less than or equal to 12"),
        ({"cure_periods": "2"}, "valid integer"),
    ],
)
def test_cure_settings_are_validated_with_named_errors(changes: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TriggerConfig.model_validate({**bb_trigger(), **changes})


def test_the_breach_count_is_state_that_round_trips_and_is_checked() -> None:
    cfg = warehouse(cure="after_waterfall", cure_periods=3)
    may = period(cfg, None, MAY_2025, collections=0, base=BASE)
    text = may.state.to_json()
    assert '"trigger_breaches":{"bb_deficiency":1}' in text
    assert VehicleState.from_json(text) == may.state
    bad = text.replace('"bb_deficiency":1', '"bb_deficiency":0')
    with pytest.raises(ValueError, match="positive count"):
        VehicleState.from_json(bad)
    # a state written before cures existed has no breach counts
    legacy = initial_state(cfg, MAY_2025["previous_period_end"], warehouse=True).to_dict()
    del legacy["trigger_breaches"]
    assert VehicleState.from_dict(legacy).trigger_breaches == {}
