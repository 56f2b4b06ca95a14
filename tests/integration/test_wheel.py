"""The package installs as a wheel and runs outside the checkout: the SQL,
templates, vehicle files and fixings travel inside it, and code_version
comes from the package metadata plus the build's GIT_SHA."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support import PROJECT_ROOT

UV = Path(sys.executable).parent / "uv"


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_wheel_runs_a_period_outside_the_checkout(tmp_path):
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "work"
    # The source distribution first, then the wheel from it: a clean build
    # that cannot pick up stale files of an earlier build folder.
    run([str(UV), "build", "--out-dir", str(dist), str(PROJECT_ROOT)], tmp_path)
    (wheel,) = dist.glob("funding_platform-*.whl")
    run([str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)], tmp_path)
    run(
        [
            str(UV),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            str(wheel),
        ],
        tmp_path,
    )

    work.mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "FUNDING_DEMO": "1",
        "GIT_SHA": "0123456789abcdef",
    }
    funding = str(venv / "bin" / "funding")
    run([funding, "seed", "--accounts", "120", "--months", "2"], work, env)
    out = run([funding, "run"], work, env)
    # the vehicles report from 2025-02
    assert "2025-02  ok in" in out and "wh1       published v1" in out

    # Nothing of the checkout was on the path: the code and its data came from the wheel.
    where = run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sql, funding; print(sql.__file__, funding.__file__)",
        ],
        work,
        env,
    )
    assert str(PROJECT_ROOT) not in where and str(venv) in where
    manifest = json.loads((work / "var/publish/wh1/2025-02/v1/manifest.json").read_text())
    assert manifest["code_version"] == "0.1.0+g0123456789ab"
