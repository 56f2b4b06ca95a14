"""Tape key continuity: `account_ref` is a keyed hash, so a package made with
another `TAPE_HMAC_KEY` than the one before it renames every account. The
manifest records the key's fingerprint (`tape_key_fingerprint`); a package
whose fingerprint differs from the last published one is refused unless the
rotation is declared (`TAPE_KEY_ROTATION=1`, SECURITY.md)."""

from __future__ import annotations

from funding.outputs.publish.layout import latest_manifest
from funding.period import Period
from funding.storage.objects import ObjectStore

# How far back the last published package is looked for when the vehicle's
# first period is not configured.
LOOKBACK_MONTHS = 36


class TapeKeyChanged(RuntimeError):
    """The tape key differs from the one the last published package was made with."""


def last_published_manifest(
    target: ObjectStore, vehicle_id: str, period: Period, first: Period | None
) -> tuple[Period, dict] | None:
    """The latest manifest of `period`, else of the nearest earlier period."""
    current = period
    for _ in range(LOOKBACK_MONTHS + 1):
        manifest = latest_manifest(target, vehicle_id, current)
        if manifest is not None:
            return current, manifest
        if first is not None and current <= first:
            return None
        current = current.previous()
    return None


def require_same_tape_key(
    target: ObjectStore,
    vehicle_id: str,
    period: Period,
    fingerprint: str,
    first: Period | None = None,
    rotation: bool = False,
) -> None:
    """Raise TapeKeyChanged when the last published package of the vehicle
    (this period's or an earlier one's) was made with another key, unless
    `rotation` declares the change."""
    found = last_published_manifest(target, vehicle_id, period, first)
    if found is None or rotation:
        return
    published_period, manifest = found
    before = manifest.get("tape_key_fingerprint")
    if before is None or before == fingerprint:
        return
    raise TapeKeyChanged(
        f"{vehicle_id} {period}: TAPE_HMAC_KEY differs from the key of the last published "
        f"package ({vehicle_id} {published_period} v{manifest.get('version')}: "
        f"tape_key_fingerprint {before}, now {fingerprint}); every account_ref would change. "
        "Restore the key, or set TAPE_KEY_ROTATION=1 for a deliberate rotation (SECURITY.md)"
    )
