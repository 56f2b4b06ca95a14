"""The layer rules of ARCHITECTURE.md, read from the code's own imports: the
domain core knows nothing of the orchestration, and checks and reports know
nothing of the assets."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import PROJECT_ROOT

FORBIDDEN = {
    "funding": {"dagster", "dagster_webserver", "assets", "checks", "reports", "dagster_project"},
    "checks": {"assets", "dagster_project"},
    "reports": {"assets", "checks", "dagster_project", "dagster"},
    "assets": {"dagster_project.definitions", "dagster_project.runner", "dagster_project.cli"},
}
# The one place a check outcome meets Dagster (checks/outcome.py stays free of it).
DAGSTER_ADAPTERS = {"checks/dagster_results.py"}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def violations(layer: str, forbidden: set[str]) -> list[str]:
    found = []
    for path in sorted((PROJECT_ROOT / layer).rglob("*.py")):
        for module in imported_modules(path):
            for banned in forbidden:
                if module == banned or module.startswith(banned + "."):
                    found.append(f"{path.relative_to(PROJECT_ROOT)} imports {module}")
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_what_they_may(layer):
    assert violations(layer, FORBIDDEN[layer]) == []


def test_checks_meet_dagster_in_one_adapter_only():
    users = {
        str(path.relative_to(PROJECT_ROOT))
        for path in (PROJECT_ROOT / "checks").rglob("*.py")
        if any(m == "dagster" or m.startswith("dagster.") for m in imported_modules(path))
    }
    assert users == DAGSTER_ADAPTERS


def test_the_rule_catches_a_forbidden_import(tmp_path, monkeypatch):
    # The scan itself must see an import when there is one.
    module = tmp_path / "funding" / "sneaky.py"
    module.parent.mkdir()
    module.write_text("import dagster as dg\nfrom assets.stage import Step\n")
    monkeypatch.setattr("tests.test_architecture.PROJECT_ROOT", tmp_path)
    assert sorted(violations("funding", FORBIDDEN["funding"])) == [
        "funding/sneaky.py imports assets.stage",
        "funding/sneaky.py imports dagster",
    ]
