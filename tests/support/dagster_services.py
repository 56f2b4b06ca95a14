"""The Dagster webserver and daemon as the team runs them: real processes on
loopback, driven through the webserver's GraphQL API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
LOCATION = "dagster_project.definitions"  # the code location's name is its module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Webserver:
    def __init__(self, port: int):
        self.url = f"http://127.0.0.1:{port}"

    def graphql(self, query: str, variables: Mapping | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        if answer.get("errors"):
            raise AssertionError(f"GraphQL errors: {answer['errors']}")
        return answer["data"]

    def wait_until_up(self, seconds: float = 120) -> None:
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/server_info", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"the Dagster webserver did not answer within {seconds:.0f} s")


@contextmanager
def _process(args: list[str], env: Mapping[str, str], log: Path) -> Iterator[subprocess.Popen]:
    # Started in the log's folder: Dagster reads a `.env` from its working
    # directory, and the checkout's (written by `make install`) names another
    # DAGSTER_HOME.
    with log.open("wb") as out:
        process = subprocess.Popen(
            args, env=dict(env), cwd=log.parent, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            yield process
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@contextmanager
def running_webserver(env: Mapping[str, str], logs: Path) -> Iterator[Webserver]:
    port = free_port()
    args = [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-m", LOCATION]
    with _process(args, env, logs / "webserver.log"):
        server = Webserver(port)
        server.wait_until_up()
        yield server


@contextmanager
def running_daemon(env: Mapping[str, str], logs: Path) -> Iterator[subprocess.Popen]:
    with _process(
        [str(BIN / "dagster-daemon"), "run", "-m", LOCATION], env, logs / "daemon.log"
    ) as p:
        yield p


def screenshot(
    url: str, path: Path, *, expect: tuple[str, ...] = (), wait_ms: int = 8000, attempts: int = 3
) -> str:
    """Headless Chromium's screenshot of `url` into `path`, and the page's DOM.

    The page draws from the webserver's GraphQL answers, which a busy machine
    can delay past Chromium's time budget: until the DOM holds every `expect`
    text, it tries again with twice the budget."""
    for _ in range(attempts):
        common = [
            "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            f"--virtual-time-budget={wait_ms}", "--window-size=1600,1000",
        ]  # fmt: skip
        subprocess.run(
            [*common, f"--screenshot={path}", url], check=True, capture_output=True, timeout=120
        )
        dom = subprocess.run(
            [*common, "--dump-dom", url], check=True, capture_output=True, text=True, timeout=120
        ).stdout
        if all(text in dom for text in expect):
            break
        wait_ms *= 2
    return dom
