"""The demo's scenarios: how the book behaves from month to month.

`base` is a healthy, seasoned book. `stress` is the same book hit by a
downturn from `shock_month` on: more borrowers miss payments and fewer cure,
personal bankruptcies rise (each one an immediate charge-off) and card
spending falls. Losses climb within a few months, so the trust's excess
spread turns negative and its early amortization trigger breaches.
"""

from __future__ import annotations

from dataclasses import dataclass

SCENARIOS = ("base", "stress")


@dataclass(frozen=True)
class Scenario:
    """Multipliers of the book's monthly probabilities from `shock_month` on
    (an index of the reported months; None: no shock)."""

    name: str
    shock_month: int | None = None
    miss: float = 1.0  # chance that a current account misses its payment
    cure: float = 1.0  # chance that a delinquent account pays all it owes
    bankruptcy: float = 1.0
    purchases: float = 1.0  # chance that an account buys in the month

    def factor(self, month_index: int, lever: str) -> float:
        """The multiplier of `lever` in the month `month_index` (1.0 before the shock)."""
        if self.shock_month is None or month_index < self.shock_month:
            return 1.0
        return float(getattr(self, lever))


def scenario(name: str) -> Scenario:
    if name == "base":
        return Scenario("base")
    if name == "stress":
        return Scenario("stress", shock_month=2, miss=3.0, cure=0.6, bankruptcy=8.0, purchases=0.6)
    raise ValueError(f"unknown demo scenario {name!r}; expected one of {', '.join(SCENARIOS)}")
