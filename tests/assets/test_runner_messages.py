"""What `funding run` says before it runs: re-running several periods that
already have published packages is announced before anything is sent."""

from __future__ import annotations

from dagster_project.runner import warn_of_republication
from funding.period import Period
from funding.storage.lake import Lake
from funding.storage.objects import store_for
from funding.storage.tables import PACKAGE

PERIODS = [Period(2025, 2), Period(2025, 3), Period(2025, 4)]


def _said(tmp_path, published: list[Period]) -> list[str]:
    lake = Lake(store_for(tmp_path / "lake"))
    for period in published:
        lake.write(PACKAGE, "wh1", period, {"version": 1, "published": True})
    said: list[str] = []
    warn_of_republication(["wh1", "trust1"], lake, PERIODS, said.append)
    return said


def test_rerunning_several_published_periods_is_announced_first(tmp_path):
    (line,) = _said(tmp_path, PERIODS[:2])
    assert "2 periods to run already have published packages (2025-02 to 2025-03)" in line
    assert "investors are told" in line


def test_one_or_no_published_period_runs_without_a_note(tmp_path):
    assert _said(tmp_path, PERIODS[:1]) == []
    assert _said(tmp_path / "fresh", []) == []
