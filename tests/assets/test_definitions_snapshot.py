"""A snapshot of the whole asset graph, so an unintended change to it
(an asset, a dependency, a check, a resource, a partition) shows in review.

After an intended change, rewrite the snapshot and commit it:

    UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/assets/test_definitions_snapshot.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from dagster_project.definitions import build_definitions
from tests.support.dagster_helpers import settings_for

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")


def graph_of(defs: dg.Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        definition = defs.resolve_assets_def(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "parents": sorted(p.to_user_string() for p in node.parent_keys),
            "checks": sorted(c.name for c in node.check_keys),
            "resources": sorted(definition.required_resource_keys),
            "partitions": type(node.partitions_def).__name__,
        }
    return {
        "assets": assets,
        "jobs": sorted(j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__")),
        "sensors": sorted(s.name for s in defs.sensors or ()),
        "schedules": sorted(s.name for s in defs.schedules or ()),
        "resources": sorted(defs.resources or {}),
    }


def test_asset_graph_matches_the_committed_snapshot(tmp_path):
    defs = build_definitions(settings_for(tmp_path, f"sqlite:///{tmp_path / 'ledger.sqlite'}"))
    current = json.dumps(graph_of(defs), indent=1, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(current)
    assert current == SNAPSHOT.read_text(), (
        "the asset graph changed; if intended, rewrite the snapshot (see the module docstring)"
    )
