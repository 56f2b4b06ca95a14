"""Funding vehicle configuration: one YAML file per vehicle, validated on load.

A vehicle file composes the blocks the stages read: identity and ratios
(pool performance), eligibility and facility (borrowing base) and the funding
structure (waterfall, triggers). Unknown keys and bad values are errors that
name the file, the key and the problem.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from funding.data_quality import DataQualityConfig
from funding.outputs.delivery import DeliveryConfig, InvestorConfig
from funding.performance.ratios import DEFAULT_RATIO_SCHEDULE, RatioSchedule
from funding.period import Period
from funding.projections.scenarios import ProjectionsConfig
from funding.structure.borrowing_base import FacilityConfig
from funding.structure.config import StructureConfig
from funding.structure.eligibility import EligibilityConfig

VehicleId = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,40}$")]
PORTFOLIO = "portfolio"


class VehicleConfigError(ValueError):
    """A vehicle file that cannot be used, with file, key and problem named."""


class VehicleConfig(StructureConfig):
    id: VehicleId
    name: str = Field(min_length=1)
    kind: Literal["warehouse", "trust"]
    # The first period the vehicle reports (its closing); earlier periods
    # have no pool figures, borrowing base or waterfall for it.
    first_period_end: date | None = None
    ratios: tuple[RatioSchedule, ...] = Field(min_length=1)
    eligibility: EligibilityConfig | None = None
    facility: FacilityConfig | None = None
    data_quality: DataQualityConfig = DataQualityConfig()
    investors: tuple[InvestorConfig, ...] = ()
    delivery: DeliveryConfig = DeliveryConfig()
    # forward projections of the waterfall (vehicles with notes; docs/vehicle-configuration.md)
    projections: ProjectionsConfig = ProjectionsConfig()
    # sha256 of the file the config was loaded from (the manifest's config_sha256)
    _source_sha256: str = PrivateAttr(default="")

    @field_validator("first_period_end")
    @classmethod
    def _month_end(cls, value: date | None) -> date | None:
        if value is not None and value != Period.containing(value).end:
            raise ValueError(
                f"must be a month end (a period is named by its last day), "
                f"e.g. {Period.containing(value).end}"
            )
        return value

    @model_validator(mode="after")
    def _kind_fits_blocks(self) -> VehicleConfig:
        if self.id == PORTFOLIO:
            raise ValueError(f"vehicle id {PORTFOLIO!r} is reserved for the whole-book view")
        if self.kind == "warehouse" and (self.eligibility is None or self.facility is None):
            raise ValueError("a warehouse needs both an `eligibility` and a `facility` block")
        if self.kind == "trust" and self.facility is not None:
            raise ValueError("a trust has no `facility` block (that is a warehouse's)")
        return self

    @property
    def has_notes(self) -> bool:
        return bool(self.notes)

    @property
    def first_period(self) -> Period | None:
        """The vehicle's first reporting period (None: it reports from the start)."""
        return None if self.first_period_end is None else Period.containing(self.first_period_end)

    @property
    def config_sha256(self) -> str:
        return self._source_sha256

    def reports(self, period: Period) -> bool:
        return self.first_period_end is None or period.end >= self.first_period_end


def portfolio_view() -> VehicleConfig:
    """The whole book: no file, the default ratio definitions, no structure."""
    return VehicleConfig.model_construct(
        id=PORTFOLIO,
        name="Whole portfolio",
        kind="trust",
        ratios=(DEFAULT_RATIO_SCHEDULE,),
        first_period_end=None,
        eligibility=None,
        facility=None,
        notes=(),
        fees=(),
        reserve_account=None,
        triggers=(),
    )


def _format_errors(path: Path, error: ValidationError) -> str:
    items = error.errors()
    locations = [tuple(str(p) for p in item["loc"]) for item in items]
    lines = []
    for item, loc in zip(items, locations, strict=True):
        # "list should have at least 1 item" only echoes a failure inside it.
        if item["type"] == "too_short" and any(
            o[: len(loc)] == loc and o != loc for o in locations
        ):
            continue
        got = item.get("input")
        shown = (
            f" (got {got!r})"
            if isinstance(got, str | int | float | bool) and item["type"] != "value_error"
            else ""
        )
        lines.append(f"{path}: {'.'.join(loc) or '(top level)'}: {item['msg']}{shown}")
    return "\n".join(lines)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping (plain
    YAML keeps the last value silently)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base loader reports it
                continue
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} on line {line} (first given on line {first})",
                    key_node.start_mark,
                )
            seen[key] = line
        return super().construct_mapping(node, deep)


def _safe_load_unique(text: str) -> object:
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)


def load_vehicle(path: Path) -> VehicleConfig:
    path = Path(path)
    source = path.read_bytes()
    try:
        raw = _safe_load_unique(source.decode("utf-8"))
    except yaml.YAMLError as exc:
        raise VehicleConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise VehicleConfigError(
            f"{path}: (top level): expected a mapping of keys, got {type(raw).__name__}"
        )
    try:
        config = VehicleConfig.model_validate(raw)
    except ValidationError as exc:
        raise VehicleConfigError(_format_errors(path, exc)) from None
    if config.id != path.stem:
        raise VehicleConfigError(
            f"{path}: id: {config.id!r} must equal the file name {path.stem!r}"
        )
    config._source_sha256 = hashlib.sha256(source).hexdigest()
    return config


def load_vehicles(folder: Path) -> dict[str, VehicleConfig]:
    """Every `*.yaml` in `folder`, by vehicle id, sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VehicleConfigError(f"{folder}: VEHICLES_DIR is not a folder")
    vehicles, errors = {}, []
    paths = sorted(folder.glob("*.yaml"))
    for path in paths:
        try:
            config = load_vehicle(path)
        except VehicleConfigError as exc:
            errors.append(str(exc))
            continue
        vehicles[config.id] = config
    if errors:
        # One deployment, one consistent set of vehicles: a bad file stops all
        # of them rather than publishing some and silently not the others.
        bad = len(errors)
        raise VehicleConfigError(
            "\n".join(errors)
            + f"\n{bad} of {len(paths)} vehicle files in {folder} cannot be used, so no "
            f"vehicle was run (the other vehicles, {sorted(vehicles) or 'none'}, were not run "
            "either): fix the file or move it out of VEHICLES_DIR"
        )
    if not vehicles:
        raise VehicleConfigError(f"{folder}: no vehicle files (*.yaml)")
    return vehicles
