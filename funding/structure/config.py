"""The funding structure of a vehicle: notes, fees, reserve, priority of
payments and triggers (funding.md, "Notes, fees, reserve", "Priority of
payments", "Triggers and status").

`StructureConfig` is the part of a vehicle YAML the waterfall engine reads.
The vehicle model that composes a whole YAML file subclasses it and adds the
identity, ratio, eligibility and facility blocks. Every field has a default,
so a vehicle without notes is valid.

Loading rejects unknown keys, bad values and any step that names a class or a
fee that does not exist; the message names the step and the name. A few
structural mistakes that would make the engine lose cash are also load
errors (a waterfall that does not end with `release`, a fee or class that no
step pays, a reserve step without a reserve account).

`reserve_covers` may be written at the top level or, as in funding.md's
example, inside the `waterfall` block; it is stored at the top level.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from funding.exact import ExactDecimal
from funding.money import to_cents

# The names funding.daycount implements (a test keeps the two lists equal).
DayCount = Literal["ACT/360", "ACT/365F", "ACT/ACT-ISDA", "30/360", "30E/360"]

# Plausibility bounds on the inputs that drive money: a value outside them is a
# typo, not a deal term, and is a load error naming file, key, value and bound.
MAX_CONFIG_CENTS = 10_000_000_000_000  # $100 billion
MIN_RATE_BPS, MAX_RATE_BPS = -1_000, 5_000  # a note rate, margin or floor: -10% to 50%
Cents = Annotated[int, Field(strict=True, ge=0, le=MAX_CONFIG_CENTS)]
Bps = Annotated[int, Field(strict=True, ge=0, le=10_000)]  # a rate or share: 0% to 100%
SignedBps = Annotated[int, Field(strict=True, ge=MIN_RATE_BPS, le=MAX_RATE_BPS)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]

INTEREST_STEP_KINDS = (
    "fee",
    "interest",
    "defaulted_amount",
    "chargeoff_reimbursement",
    "reserve_deposit",
    "release",
)
PRINCIPAL_STEP_KINDS = ("borrowing_base_cure", "principal", "release")
DENOMINATION_CENTS = 100_000  # notes are issued in multiples of $1,000


class _Config(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True
    )


class RateConfig(_Config):
    """Either `{fixed_bps}` or `{index, margin_bps, floor_bps}` (floor optional)."""

    fixed_bps: SignedBps | None = None
    index: Name | None = None
    margin_bps: SignedBps | None = None
    floor_bps: SignedBps | None = None

    @model_validator(mode="after")
    def _fixed_or_floating(self) -> RateConfig:
        floating = (self.index, self.margin_bps, self.floor_bps)
        if self.fixed_bps is not None and any(v is not None for v in floating):
            raise ValueError("rate is either {fixed_bps} or {index, margin_bps, floor_bps}")
        if self.fixed_bps is None and (self.index is None or self.margin_bps is None):
            raise ValueError("a floating rate needs index and margin_bps (or give fixed_bps)")
        return self

    @property
    def is_floating(self) -> bool:
        return self.index is not None


class NoteConfig(_Config):
    """A note class. Its balance at closing is either stated in cents
    (`initial_balance_cents`) or as a share of the pool's principal at closing
    (`initial_pct_of_pool_bps`), fixed at the vehicle's first period
    (`StructureConfig.sized_at_closing`)."""

    class_: Name = Field(alias="class")
    initial_balance_cents: Cents | None = None
    initial_pct_of_pool_bps: Annotated[int, Field(strict=True, gt=0, le=10_000)] | None = None
    rate: RateConfig
    day_count: DayCount
    rating: Annotated[str, Field(min_length=1, max_length=40)] | None = None  # e.g. AAA(sf)

    @model_validator(mode="after")
    def _one_size(self) -> NoteConfig:
        if (self.initial_balance_cents is None) == (self.initial_pct_of_pool_bps is None):
            raise ValueError(
                f"class {self.class_}: give initial_balance_cents or initial_pct_of_pool_bps"
            )
        return self


class FeeConfig(_Config):
    """Flat (`flat_cents` per period) or rate-based over a basis with a day count."""

    name: Name
    flat_cents: Cents | None = None
    rate_bps: Bps | None = None
    basis: Literal["beginning_invested"] | None = None
    day_count: DayCount | None = None

    @model_validator(mode="after")
    def _flat_or_rate(self) -> FeeConfig:
        rate_fields = (self.rate_bps, self.basis, self.day_count)
        if self.flat_cents is not None:
            if any(v is not None for v in rate_fields):
                raise ValueError(f"fee {self.name}: flat_cents excludes rate_bps/basis/day_count")
        elif any(v is None for v in rate_fields):
            raise ValueError(
                f"fee {self.name}: give flat_cents, or rate_bps with basis and day_count"
            )
        return self


class ReserveTarget(_Config):
    pct_of_notes_bps: Bps
    floor_cents: Cents = 0


class ReserveAccountConfig(_Config):
    """Funded at closing with `initial_cents`, or `initial_pct_of_notes_bps`
    of the note balances at closing."""

    initial_cents: Cents | None = None
    initial_pct_of_notes_bps: Bps | None = None
    target: ReserveTarget

    @model_validator(mode="after")
    def _one_size(self) -> ReserveAccountConfig:
        if (self.initial_cents is None) == (self.initial_pct_of_notes_bps is None):
            raise ValueError("reserve_account: give initial_cents or initial_pct_of_notes_bps")
        return self


class WaterfallStep(_Config):
    """One priority of payments step; which keys it needs depends on `pay`."""

    pay: Literal[
        "fee",
        "interest",
        "defaulted_amount",
        "chargeoff_reimbursement",
        "reserve_deposit",
        "release",
        "borrowing_base_cure",
        "principal",
    ]
    name: Name | None = None
    class_: Name | None = Field(default=None, alias="class")
    classes: tuple[Name, ...] | None = None
    mode: Literal["sequential", "pro_rata"] | None = None

    @model_validator(mode="after")
    def _keys_match_kind(self) -> WaterfallStep:
        given = {
            key
            for key, value in (
                ("name", self.name),
                ("class", self.class_),
                ("classes", self.classes),
                ("mode", self.mode),
            )
            if value is not None
        }
        needed = {"fee": {"name"}, "interest": {"class"}, "principal": {"classes", "mode"}}.get(
            self.pay, set()
        )
        if given != needed:
            want = ", ".join(sorted(needed)) or "no other key"
            raise ValueError(f"step pay: {self.pay} takes {want}; got {sorted(given) or 'none'}")
        if self.classes is not None and (
            not self.classes or len(set(self.classes)) != len(self.classes)
        ):
            raise ValueError("principal classes must be a non-empty list without repeats")
        return self

    def describe(self) -> str:
        """The step as written in YAML, for error messages and statements."""
        parts = [f"pay: {self.pay}"]
        if self.name is not None:
            parts.append(f"name: {self.name}")
        if self.class_ is not None:
            parts.append(f"class: {self.class_}")
        if self.classes is not None:
            parts.append(f"classes: [{', '.join(self.classes)}]")
        if self.mode is not None:
            parts.append(f"mode: {self.mode}")
        return "{" + ", ".join(parts) + "}"


class PrincipalWaterfalls(_Config):
    revolving: tuple[WaterfallStep, ...] = ()
    amortizing: tuple[WaterfallStep, ...] = ()


class ReserveCover(_Config):
    """`{fee: name}` or `{interest: class}`: a step the reserve pays a shortfall of."""

    fee: Name | None = None
    interest: Name | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ReserveCover:
        if (self.fee is None) == (self.interest is None):
            raise ValueError("a reserve cover is {fee: name} or {interest: class}")
        return self

    @property
    def key(self) -> tuple[str, str]:
        return ("fee", self.fee) if self.fee is not None else ("interest", str(self.interest))


class WaterfallConfig(_Config):
    interest: tuple[WaterfallStep, ...] = ()
    principal: PrincipalWaterfalls = PrincipalWaterfalls()


# When a trigger is tested: at the period end before the waterfall (the
# default), or on the state after the period's cure steps (funding.md).
BEFORE_WATERFALL = "before_waterfall"
AFTER_WATERFALL = "after_waterfall"
# The ratios the waterfall itself changes, so a test after it can differ.
AFTER_WATERFALL_RATIOS = ("borrowing_base_deficiency",)
MAX_CURE_PERIODS = 12


class TriggerConfig(_Config):
    """A trigger; `cure` and `cure_periods` say when a breach takes effect.

    `cure: after_waterfall` tests the trigger on the state after the period's
    cure steps (`borrowing_base_cure`), so a deficiency that the period's
    collections repay is no breach; its effect applies from the next period.
    `cure_periods: N` makes a breach take effect only in the N-th consecutive
    breached period.
    """

    name: Name
    ratio: Name
    op: Literal["<", "<=", ">", ">="]
    threshold: ExactDecimal
    effect: Literal["early_amortization", "cash_trap"]
    cure: Literal["before_waterfall", "after_waterfall"] = BEFORE_WATERFALL
    cure_periods: Annotated[int, Field(strict=True, ge=1, le=MAX_CURE_PERIODS)] = 1

    @model_validator(mode="after")
    def _cure_fits_the_trigger(self) -> TriggerConfig:
        if self.cure != AFTER_WATERFALL:
            return self
        if self.ratio not in AFTER_WATERFALL_RATIOS:
            raise ValueError(
                f"trigger {self.name}: cure: after_waterfall needs a ratio the waterfall "
                f"changes ({', '.join(AFTER_WATERFALL_RATIOS)}); {self.ratio} has the same "
                "value before and after it"
            )
        if self.effect != "early_amortization":
            raise ValueError(
                f"trigger {self.name}: cure: after_waterfall applies to early_amortization; "
                "a cash_trap acts on the period's release, before a test after the waterfall"
            )
        return self


class StructureConfig(_Config):
    """The funding-structure keys of a vehicle YAML (see the module docstring)."""

    notes: tuple[NoteConfig, ...] = ()
    fees: tuple[FeeConfig, ...] = ()
    reserve_account: ReserveAccountConfig | None = None
    investor_allocation: Literal["floating", "full"] = "full"
    available_funds: tuple[Name, ...] = ("finance_charge_collections", "recoveries")
    waterfall: WaterfallConfig = WaterfallConfig()
    reserve_covers: tuple[ReserveCover, ...] = ()
    triggers: tuple[TriggerConfig, ...] = ()
    revolving_period_end: date | None = None
    rounding: Literal["half_up", "truncate"] = "half_up"
    # Notes are paid on this day of the month after the period end (the next
    # business day if it is a Saturday or Sunday); None: at the period end.
    payment_day: Annotated[int, Field(strict=True, ge=1, le=28)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _lift_reserve_covers(cls, data: Any) -> Any:
        """funding.md writes `reserve_covers` inside `waterfall`; accept both places."""
        if not isinstance(data, dict):
            return data
        waterfall = data.get("waterfall")
        if isinstance(waterfall, dict) and "reserve_covers" in waterfall:
            if "reserve_covers" in data:
                raise ValueError("reserve_covers is given twice (top level and in waterfall)")
            waterfall = dict(waterfall)
            data = {
                **data,
                "reserve_covers": waterfall.pop("reserve_covers"),
                "waterfall": waterfall,
            }
        return data

    @model_validator(mode="after")
    def _references_resolve(self) -> StructureConfig:
        errors = [
            *self._duplicate_names(),
            *self._interest_step_errors(),
            *self._principal_step_errors(),
            *self._cover_errors(),
            *self._completeness_errors(),
            *self._warehouse_errors(),
        ]
        if errors:
            raise ValueError("; ".join(errors))
        return self

    # -- lookups the engine uses -------------------------------------------

    @property
    def class_names(self) -> tuple[str, ...]:
        """Note classes, most senior first (the order of `notes`)."""
        return tuple(note.class_ for note in self.notes)

    @property
    def fee_names(self) -> tuple[str, ...]:
        return tuple(fee.name for fee in self.fees)

    def note(self, class_name: str) -> NoteConfig:
        return next(note for note in self.notes if note.class_ == class_name)

    def fee(self, fee_name: str) -> FeeConfig:
        return next(fee for fee in self.fees if fee.name == fee_name)

    @property
    def sized_at_closing(self) -> bool:
        """Whether every balance at closing is known without the pool."""
        return all(n.initial_balance_cents is not None for n in self.notes) and (
            self.reserve_account is None or self.reserve_account.initial_cents is not None
        )

    def size_at_closing(self, pool_principal_cents: int) -> StructureConfig:
        """This config with the balances at closing in cents: a note stated as a
        share of the pool is that share of `pool_principal_cents` (the pool's
        principal at its closing), rounded down to whole $1,000 (notes are
        issued in $1,000 denominations); a reserve stated as a share of the
        notes is that share of their total, rounded with the vehicle's mode."""
        if pool_principal_cents < 0:
            raise ValueError(f"the pool at closing cannot be negative: {pool_principal_cents}")
        notes = tuple(
            note
            if note.initial_balance_cents is not None
            else note.model_copy(
                update={
                    "initial_balance_cents": to_cents(
                        Fraction(pool_principal_cents * int(note.initial_pct_of_pool_bps or 0))
                        / 10_000
                        / DENOMINATION_CENTS,
                        "truncate",
                    )
                    * DENOMINATION_CENTS,
                    "initial_pct_of_pool_bps": None,
                }
            )
            for note in self.notes
        )
        reserve = self.reserve_account
        if reserve is not None and reserve.initial_cents is None:
            notes_total = sum(int(n.initial_balance_cents or 0) for n in notes)
            reserve = reserve.model_copy(
                update={
                    "initial_cents": to_cents(
                        Fraction(notes_total * int(reserve.initial_pct_of_notes_bps or 0), 10_000),
                        self.rounding,
                    ),
                    "initial_pct_of_notes_bps": None,
                }
            )
        return self.model_copy(update={"notes": notes, "reserve_account": reserve})

    def floating_indices(self) -> tuple[str, ...]:
        """Indices whose fixings a period needs, in note order, without repeats."""
        indices = (note.rate.index for note in self.notes if note.rate.index is not None)
        return tuple(dict.fromkeys(indices))

    # -- validation pieces ---------------------------------------------------

    def _duplicate_names(self) -> list[str]:
        errors = []
        for label, names in (
            ("note class", self.class_names),
            ("fee", self.fee_names),
            ("trigger", tuple(t.name for t in self.triggers)),
            ("available_funds measure", self.available_funds),
        ):
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                errors.append(f"{label} defined more than once: {', '.join(repeated)}")
        return errors

    def _unknown_reference(self, where: str, step: WaterfallStep) -> list[str]:
        errors = []
        if step.pay == "fee" and step.name not in self.fee_names:
            errors.append(f"{where} {step.describe()}: unknown fee '{step.name}'")
        if step.pay == "interest" and step.class_ not in self.class_names:
            errors.append(f"{where} {step.describe()}: unknown class '{step.class_}'")
        for name in step.classes or ():
            if name not in self.class_names:
                errors.append(f"{where} {step.describe()}: unknown class '{name}'")
        return errors

    def _interest_step_errors(self) -> list[str]:
        errors = []
        for number, step in enumerate(self.waterfall.interest, start=1):
            where = f"waterfall.interest step {number}"
            if step.pay not in INTEREST_STEP_KINDS:
                errors.append(f"{where} {step.describe()}: not allowed in the interest waterfall")
            if step.pay in ("reserve_deposit",) and self.reserve_account is None:
                errors.append(f"{where} {step.describe()}: no reserve_account is configured")
            errors.extend(self._unknown_reference(where, step))
        errors.extend(self._repeated_steps("waterfall.interest", self.waterfall.interest))
        errors.extend(self._release_last("waterfall.interest", self.waterfall.interest))
        return errors

    def _principal_step_errors(self) -> list[str]:
        errors = []
        for period in ("revolving", "amortizing"):
            steps = getattr(self.waterfall.principal, period)
            for number, step in enumerate(steps, start=1):
                where = f"waterfall.principal.{period} step {number}"
                if step.pay not in PRINCIPAL_STEP_KINDS:
                    errors.append(
                        f"{where} {step.describe()}: not allowed in the principal waterfall"
                    )
                errors.extend(self._unknown_reference(where, step))
            errors.extend(self._repeated_steps(f"waterfall.principal.{period}", steps))
            errors.extend(self._release_last(f"waterfall.principal.{period}", steps))
        return errors

    @staticmethod
    def _repeated_steps(where: str, steps: tuple[WaterfallStep, ...]) -> list[str]:
        """Paying the same item twice in one waterfall would pay it twice."""
        seen: set[str] = set()
        errors = []
        for step in steps:
            key = step.describe()
            if key in seen:
                errors.append(f"{where}: step {key} appears more than once")
            seen.add(key)
        return errors

    @staticmethod
    def _release_last(where: str, steps: tuple[WaterfallStep, ...]) -> list[str]:
        """Cash left after the last step would vanish; `release` takes it, so it ends the list."""
        if steps and steps[-1].pay != "release":
            return [f"{where}: the last step must be {{pay: release}}"]
        if any(step.pay == "release" for step in steps[:-1]):
            return [f"{where}: {{pay: release}} may only be the last step"]
        return []

    def _cover_errors(self) -> list[str]:
        errors = []
        if self.reserve_covers and self.reserve_account is None:
            errors.append("reserve_covers is set but no reserve_account is configured")
        keys = [cover.key for cover in self.reserve_covers]
        for kind, name in keys:
            known = self.fee_names if kind == "fee" else self.class_names
            if name not in known:
                errors.append(f"reserve_covers {{{kind}: {name}}}: unknown {_noun(kind)} '{name}'")
            if keys.count((kind, name)) > 1:
                errors.append(f"reserve_covers {{{kind}: {name}}} appears more than once")
        return errors

    def _completeness_errors(self) -> list[str]:
        """With notes, every fee and class needs its step and every waterfall must exist."""
        if not self.notes:
            return []
        errors = []
        paid_fees = {s.name for s in self.waterfall.interest if s.pay == "fee"}
        paid_interest = {s.class_ for s in self.waterfall.interest if s.pay == "interest"}
        errors += [
            f"fee '{n}' has no {{pay: fee}} step" for n in self.fee_names if n not in paid_fees
        ]
        errors += [
            f"class '{n}' has no {{pay: interest}} step"
            for n in self.class_names
            if n not in paid_interest
        ]
        for where, steps in (
            ("waterfall.interest", self.waterfall.interest),
            ("waterfall.principal.revolving", self.waterfall.principal.revolving),
            ("waterfall.principal.amortizing", self.waterfall.principal.amortizing),
        ):
            if not steps:
                errors.append(f"{where} is empty but the vehicle has notes")
        return errors

    def _warehouse_errors(self) -> list[str]:
        """A composed vehicle with a `facility` block is a warehouse: one class, the advances."""
        if getattr(self, "facility", None) is None or len(self.notes) == 1:
            return []
        return [f"a warehouse has exactly one note class (its advances); got {len(self.notes)}"]


def _noun(kind: str) -> str:
    return "fee" if kind == "fee" else "class"
