"""The waterfall engine: one vehicle, one period (funding.md, "Notes, fees,
reserve", "Priority of payments", "Warehouse advances", "State").

    run_waterfall(config, previous_state, inputs) -> WaterfallResult

is pure: the same config, state and inputs give the same statement and
state, byte for byte (`VehicleState.to_json`). Money is integer cents;
intermediate arithmetic is exact (`Fraction`) and every amount is rounded
once, with the vehicle's mode, when it becomes cents.

Order of a period
-----------------
1. Investor allocation of the pool measures (floating for trusts, full for
   warehouses), accruals of fees and interest, the vehicle excess spread.
2. Triggers on the ratios known before the waterfall (`funding.triggers`);
   they fix the period's status (revolving / amortizing /
   early_amortization) and whether cash is trapped.
3. Reserve excess over target is released into the interest funds.
4. The interest waterfall, then the principal waterfall of the status.
5. Triggers with `cure: after_waterfall`, on the state after the cure
   steps; an early amortization one in effect ends revolving from here on
   (the period's principal waterfall has run; no draw follows it).
6. Warehouses: the borrower draws the availability.

Interpretations where the spec leaves room (an analyst's reading)
-----------------------------------------------------------------
- Invested amount = the sum of note balances at the beginning of the period
  (after last period's charge-offs, reimbursements and draws). Investor
  charge-offs write note balances down, reimbursements write them back up.
- Floating allocation: investor % = invested amount / pool
  `beginning_principal`, capped at 100% (100% when the pool was empty, 0%
  when nothing is invested). It applies to each available-funds measure,
  principal collections and charged-off principal, each rounded once. No
  fixed allocation percentage for principal in amortization (not spec'd).
- Interest due = beginning balance x rate x year_fraction(previous period
  end, period end, day count), rounded, + unpaid interest carried (no
  interest on it). A floating rate is index fixing + margin, floored at
  `floor_bps` as a whole (the spec floors "index + margin"); no floor
  configured means none. A negative accrual is zero: noteholders never pay.
- Rate-based fees accrue on the beginning invested amount with their own
  day count over the same dates; flat fees are per period. Unpaid fees carry.
- Reserve target = max(floor, pct_of_notes x beginning invested amount),
  and zero once the notes are paid off, so the reserve is then released.
  The target is fixed for the period before the waterfall (the closing note
  balance depends on the waterfall itself).
- Reserve excess over target is released into the interest funds before
  step 1 (statement step 0, action `reserve_release`) - except while a cash
  trap holds: trapped cash stays in the reserve until the trap cures, and is
  then released through the waterfall.
- Reserve draws cover the shortfall of the `reserve_covers` steps, at that
  step, as far as the reserve goes. The reserve is credit enhancement
  dedicated to those steps, so a draw is not blocked by an uncovered senior
  step being short; seniority is about the waterfall's own funds.
- Statement rows: `paid_cents` is the total paid, `from_reserve_cents` the
  part of it drawn from the reserve, `shortfall_cents = due - paid`.
  Steps naming several classes (principal, charge-off reimbursement,
  borrowing base cure) give one row per class with the step's number.
- `defaulted_amount` pays the investor defaulted amount into the principal
  funds; what is not covered is an investor charge-off, written down most
  junior class first, capped at the note balances (a loss beyond them falls
  on the seller's interest). `chargeoff_reimbursement` reimburses the
  unreimbursed charge-offs of earlier periods, senior class first, into the
  principal funds: a write-down of this period is due from the next one (it
  arose because this period's funds ran out before it).
- `reserve_deposit` tops the reserve up to the target. A shortfall of a
  deposit, of principal or of a reimbursement is not a carried amount:
  the next period recomputes it from balances.
- `release` of the interest waterfall goes to the seller, or to the reserve
  under a cash trap (action `release_to_reserve`). The principal release
  always goes to the seller (during revolving it buys new receivables).
- Principal: `sequential` pays each class's whole balance in order;
  `pro_rata` shares the funds in proportion to the balances, by largest
  remainder so the shares add up to the cent (ties to the senior class).
- Status: the amortizing principal waterfall runs in early amortization and,
  as scheduled, for periods ending after `revolving_period_end` (status
  `amortizing`); otherwise the revolving one.
- `borrowing_base_cure` is due only when the period's borrowing base is
  given: the deficiency = note balances - borrowing base, repaid senior class
  first. Without borrowing base figures (a trust) it is due zero.
- Warehouses: the period's `borrowing_base_cents` in the inputs marks the
  vehicle as a warehouse. Its single class is the advances. After the
  waterfall the borrower draws the availability (`max_available`) while the
  vehicle revolves; no new advances once it amortizes. `advances_cents` in
  the state equals that class's balance.
- Sources and uses are cash into and out of the vehicle's accounts: the
  investor share of collections, reserve releases and draws, facility draws
  / fees, interest, principal, reserve deposits, releases to the seller,
  draws passed to the borrower. Amounts moved from interest to principal
  funds (`defaulted_amount`, `chargeoff_reimbursement`) are internal.
- Engine-derived ratios (`excess_spread`, `excess_spread_3m_avg`,
  `seller_interest_to_invested`, `borrowing_base_deficiency`, the latter in
  cents of advances over the borrowing base before the waterfall) override
  same-named entries of
  `inputs.ratios`: funding.md defines the triggers on the vehicle's own
  figures, not on the pool's ratio of the same name. Without borrowing base
  figures the deficiency has no value unless the inputs give one.
- Cures: a trigger with `cure: after_waterfall` sees the deficiency left
  after the principal waterfall (advances after `borrowing_base_cure` less
  the borrowing base), so a shortfall the period's principal collections
  repay is no breach. Its effect cannot reach back into the waterfall that
  already ran: the closing status becomes `early_amortization`, nothing is
  drawn, and the next period amortizes. `cure_periods: N` counts
  consecutive breached periods in the state (`trigger_breaches`); the
  effect holds from the N-th (for a cash trap: while the run lasts).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from funding.structure.config import (
    AFTER_WATERFALL,
    StructureConfig,
    WaterfallStep,
)
from funding.structure.triggers import (
    EARLY_AMORTIZATION,
    REVOLVING,
    breach_runs,
    cash_trap_breached,
    early_amortization_breached,
    evaluate_triggers,
    excess_spread_ratio,
    period_status,
    trailing_average,
)
from funding.structure.waterfall.accruals import (
    allocate_pool,
    allocate_pro_rata,
    fee_accrual,
    interest_accrual,
    note_rate,
    reserve_target,
)
from funding.structure.waterfall.cash import sources, uses_from_statement
from funding.structure.waterfall.state import (
    PeriodInputs,
    StatementRow,
    VehicleState,
    WaterfallResult,
    opening_state,
    require_cents,
)
from funding.structure.waterfall.trigger_ratios import after_waterfall_ratios, trigger_ratios

DRAW_POLICIES = ("max_available", "none")
HISTORY_LENGTH = 3  # enough for the 3-month average


def _check_inputs(config: StructureConfig, inputs: PeriodInputs) -> None:
    if not inputs.previous_period_end < inputs.period_start <= inputs.period_end:
        raise ValueError(
            "dates must satisfy previous_period_end < period_start <= period_end; got "
            f"{inputs.previous_period_end}, {inputs.period_start}, {inputs.period_end}"
        )
    needed = [*config.available_funds, "principal_collections", "chargeoff_principal"]
    if config.investor_allocation == "floating":
        needed.append("beginning_principal")
    missing = [name for name in needed if name not in inputs.pool]
    if missing:
        raise KeyError(f"pool measures missing from the inputs: {', '.join(missing)}")
    for name in needed:
        require_cents(inputs.pool[name], f"pool measure {name}")
    if inputs.draw_policy not in DRAW_POLICIES:
        raise ValueError(f"unknown draw_policy {inputs.draw_policy!r}; expected {DRAW_POLICIES}")
    if inputs.borrowing_base_cents is not None:
        require_cents(inputs.borrowing_base_cents, "borrowing_base_cents")
        if len(config.notes) != 1:
            raise ValueError("a warehouse (borrowing base given) has exactly one note class")


# ---------------------------------------------------------------------------
# the engine


def run_waterfall(
    config: StructureConfig, previous: VehicleState | None, inputs: PeriodInputs
) -> WaterfallResult:
    """Run one period: triggers, interest and principal waterfalls, draws; see the module doc."""
    _check_inputs(config, inputs)
    opening = opening_state(config, previous, inputs)
    if opening.advances_cents is not None and inputs.borrowing_base_cents is None:
        raise ValueError(
            "the vehicle carries advances: the period's borrowing_base_cents is needed"
        )
    invested = opening.invested_cents
    allocation = allocate_pool(config, invested, inputs.pool)
    fees_accrued = {f.name: fee_accrual(f, invested, inputs, config.rounding) for f in config.fees}
    interest_accrued = {
        n.class_: interest_accrual(n, opening.note_balances[n.class_], inputs, config.rounding)
        for n in config.notes
    }
    spread = excess_spread_ratio(
        sum(allocation.interest_funds.values()),
        sum(fees_accrued.values()),
        sum(interest_accrued.values()),
        allocation.defaulted,
        invested,
    )
    history = (*opening.excess_spread_history, spread)[-HISTORY_LENGTH:]
    spread_3m = trailing_average(history)
    ratios = trigger_ratios(inputs, spread, spread_3m, invested)
    tested_after = tuple(t for t in config.triggers if t.cure == AFTER_WATERFALL)
    tested_before = tuple(t for t in config.triggers if t.cure != AFTER_WATERFALL)
    tests = evaluate_triggers(tested_before, ratios, opening.trigger_breaches)
    status = period_status(opening.status, tests, inputs.period_end, config.revolving_period_end)

    run = _PeriodRun(
        config=config,
        opening=opening,
        inputs=inputs,
        status=status,
        cash_trap=cash_trap_breached(tests),
        reserve_target=reserve_target(config, invested),
        fees_due={n: fees_accrued[n] + opening.unpaid_fees[n] for n in config.fee_names},
        interest_due={
            c: interest_accrued[c] + opening.unpaid_interest[c] for c in interest_accrued
        },
        defaulted_due=allocation.defaulted,
        principal_collections=allocation.principal_collections,
    )
    run.interest_waterfall(sum(allocation.interest_funds.values()))
    run.principal_waterfall()
    if tested_after:
        cured = {**ratios, **after_waterfall_ratios(inputs, run.balances)}
        after = evaluate_triggers(tested_after, cured, opening.trigger_breaches)
        if early_amortization_breached(after):
            run.status = EARLY_AMORTIZATION
        by_name = {t.name: t for t in (*tests, *after)}
        tests = tuple(by_name[t.name] for t in config.triggers)
    run.facility_draw()
    return WaterfallResult(
        statement=tuple(run.rows),
        trigger_tests=tests,
        state=run.closing_state(history, breach_runs(tests)),
        opening=opening,
        sources=sources(allocation, run.rows),
        uses=uses_from_statement(run.rows),
        investor_chargeoffs=dict(run.chargeoffs),
        investor_percentage=allocation.percentage,
        excess_spread=spread,
        excess_spread_3m_avg=spread_3m,
        reserve_target_cents=run.reserve_target,
        waterfall_status=status,
        allocation=allocation,
        fees_accrued=fees_accrued,
        interest_accrued=interest_accrued,
        note_rates={n.class_: note_rate(n, inputs.fixings) for n in config.notes},
    )


class _PeriodRun:
    """The mutable working books of one period; only `run_waterfall` sees them."""

    def __init__(
        self,
        *,
        config: StructureConfig,
        opening: VehicleState,
        inputs: PeriodInputs,
        status: str,
        cash_trap: bool,
        reserve_target: int,
        fees_due: dict[str, int],
        interest_due: dict[str, int],
        defaulted_due: int,
        principal_collections: int,
    ) -> None:
        self.config = config
        self.inputs = inputs
        self.status = status
        self.cash_trap = cash_trap
        self.reserve_target = reserve_target
        self.fees_due = fees_due
        self.interest_due = interest_due
        self.defaulted_due = defaulted_due
        self.classes = config.class_names
        self.balances = dict(opening.note_balances)
        self.unpaid_interest = dict(opening.unpaid_interest)
        self.unpaid_fees = dict(opening.unpaid_fees)
        self.unreimbursed = dict(opening.unreimbursed_chargeoffs)
        self.earlier_chargeoffs = dict(opening.unreimbursed_chargeoffs)
        self.reserve = opening.reserve_cents
        self.covers = {cover.key for cover in config.reserve_covers}
        self.chargeoffs = dict.fromkeys(self.classes, 0)
        self.principal_funds = principal_collections
        self.funds = 0
        self.waterfall = ""
        self.step = 0
        self.rows: list[StatementRow] = []

    # -- bookkeeping ----------------------------------------------------------

    def record(self, action: str, target: str, due: int, paid: int, from_reserve: int = 0) -> None:
        self.rows.append(
            StatementRow(
                waterfall=self.waterfall,
                step=self.step,
                action=action,
                target=target,
                due_cents=due,
                paid_cents=paid,
                shortfall_cents=due - paid,
                from_reserve_cents=from_reserve,
                available_after_cents=self.funds,
            )
        )

    def take(self, due: int) -> int:
        """Pay `min(due, available)` out of the current waterfall's funds."""
        paid = min(due, self.funds)
        self.funds -= paid
        return paid

    def take_covered(self, due: int, cover_key: tuple[str, str]) -> tuple[int, int]:
        """Pay from funds, then the shortfall from the reserve if the step is covered."""
        from_funds = self.take(due)
        from_reserve = 0
        if cover_key in self.covers:
            from_reserve = min(due - from_funds, self.reserve)
            self.reserve -= from_reserve
        return from_funds + from_reserve, from_reserve

    # -- interest waterfall ---------------------------------------------------

    def interest_waterfall(self, collections: int) -> None:
        self.waterfall, self.step, self.funds = "interest", 0, collections
        if self.config.reserve_account is not None:
            self.release_reserve_excess()
        for number, step in enumerate(self.config.waterfall.interest, start=1):
            self.step = number
            self.INTEREST_STEPS[step.pay](self, step)

    def release_reserve_excess(self) -> None:
        excess = 0 if self.cash_trap else max(0, self.reserve - self.reserve_target)
        self.reserve -= excess
        self.funds += excess
        self.record("reserve_release", "interest_funds", excess, excess, from_reserve=excess)

    def pay_fee(self, step: WaterfallStep) -> None:
        name = str(step.name)
        due = self.fees_due[name]
        paid, from_reserve = self.take_covered(due, ("fee", name))
        self.unpaid_fees[name] = due - paid
        self.record("fee", name, due, paid, from_reserve)

    def pay_interest(self, step: WaterfallStep) -> None:
        name = str(step.class_)
        due = self.interest_due[name]
        paid, from_reserve = self.take_covered(due, ("interest", name))
        self.unpaid_interest[name] = due - paid
        self.record("interest", name, due, paid, from_reserve)

    def pay_defaulted_amount(self, step: WaterfallStep) -> None:
        paid = self.take(self.defaulted_due)
        self.principal_funds += paid
        self.record("defaulted_amount", "principal_funds", self.defaulted_due, paid)
        self.charge_off(self.defaulted_due - paid)

    def charge_off(self, uncovered: int) -> None:
        """Write the uncovered defaulted amount off the notes, most junior class first."""
        for name in reversed(self.classes):
            written = min(uncovered, self.balances[name])
            self.balances[name] -= written
            self.chargeoffs[name] += written
            self.unreimbursed[name] += written
            uncovered -= written

    def pay_chargeoff_reimbursement(self, step: WaterfallStep) -> None:
        for name in self.classes:
            due = self.earlier_chargeoffs[name]
            paid = self.take(due)
            self.unreimbursed[name] -= paid
            self.balances[name] += paid
            self.principal_funds += paid
            self.record("chargeoff_reimbursement", name, due, paid)

    def pay_reserve_deposit(self, step: WaterfallStep) -> None:
        due = max(0, self.reserve_target - self.reserve)
        paid = self.take(due)
        self.reserve += paid
        self.record("reserve_deposit", "reserve", due, paid)

    def pay_interest_release(self, step: WaterfallStep) -> None:
        due = self.funds
        paid = self.take(due)
        if self.cash_trap:
            self.reserve += paid
            self.record("release_to_reserve", "reserve", due, paid)
        else:
            self.record("release", "seller", due, paid)

    INTEREST_STEPS: dict[str, Callable[[_PeriodRun, WaterfallStep], None]] = {
        "fee": pay_fee,
        "interest": pay_interest,
        "defaulted_amount": pay_defaulted_amount,
        "chargeoff_reimbursement": pay_chargeoff_reimbursement,
        "reserve_deposit": pay_reserve_deposit,
        "release": pay_interest_release,
    }

    # -- principal waterfall --------------------------------------------------

    def principal_waterfall(self) -> None:
        self.waterfall, self.step, self.funds = "principal", 0, self.principal_funds
        principal = self.config.waterfall.principal
        steps = principal.revolving if self.status == REVOLVING else principal.amortizing
        for number, step in enumerate(steps, start=1):
            self.step = number
            self.PRINCIPAL_STEPS[step.pay](self, step)

    def pay_borrowing_base_cure(self, step: WaterfallStep) -> None:
        base = self.inputs.borrowing_base_cents
        deficiency = 0 if base is None else max(0, sum(self.balances.values()) - base)
        for name in self.classes:
            due = min(self.balances[name], deficiency)
            deficiency -= due
            paid = self.take(due)
            self.balances[name] -= paid
            self.record("borrowing_base_cure", name, due, paid)

    def pay_principal(self, step: WaterfallStep) -> None:
        classes = tuple(step.classes or ())
        if step.mode == "pro_rata":
            self.pay_principal_pro_rata(classes)
            return
        for name in classes:
            due = self.balances[name]
            paid = self.take(due)
            self.balances[name] -= paid
            self.record("principal_sequential", name, due, paid)

    def pay_principal_pro_rata(self, classes: tuple[str, ...]) -> None:
        dues = [self.balances[name] for name in classes]
        shares = dues if self.funds >= sum(dues) else allocate_pro_rata(self.funds, dues)
        for name, due, share in zip(classes, dues, shares, strict=True):
            paid = self.take(share)
            self.balances[name] -= paid
            self.record("principal_pro_rata", name, due, paid)

    def pay_principal_release(self, step: WaterfallStep) -> None:
        due = self.funds
        self.record("release", "seller", due, self.take(due))

    PRINCIPAL_STEPS: dict[str, Callable[[_PeriodRun, WaterfallStep], None]] = {
        "borrowing_base_cure": pay_borrowing_base_cure,
        "principal": pay_principal,
        "release": pay_principal_release,
    }

    # -- warehouse draw and closing -------------------------------------------

    def facility_draw(self) -> None:
        """After the waterfall the borrower draws the availability while revolving."""
        base = self.inputs.borrowing_base_cents
        if base is None:
            return
        (advances_class,) = self.classes
        may_draw = self.status == REVOLVING and self.inputs.draw_policy == "max_available"
        availability = max(0, base - self.balances[advances_class]) if may_draw else 0
        self.waterfall, self.step, self.funds = "facility", 1, 0
        self.balances[advances_class] += availability
        self.record("draw", advances_class, availability, availability)

    def closing_state(
        self, history: tuple[Fraction | None, ...], trigger_breaches: dict[str, int]
    ) -> VehicleState:
        warehouse = self.inputs.borrowing_base_cents is not None
        return VehicleState(
            period_end=self.inputs.period_end,
            status=self.status,
            cash_trap=self.cash_trap,
            note_balances=dict(self.balances),
            unpaid_interest=dict(self.unpaid_interest),
            unpaid_fees=dict(self.unpaid_fees),
            unreimbursed_chargeoffs=dict(self.unreimbursed),
            reserve_cents=self.reserve,
            excess_spread_history=history,
            advances_cents=sum(self.balances.values()) if warehouse else None,
            trigger_breaches=trigger_breaches,
        )
