"""LEAP's deployed services (deploy/commands.sh) in child processes on a fresh Dagster home, as compose runs them.

Tests and the orchestration bench use these to observe what only a real daemon does: the run queue,
the concurrency pools and the sensors' cadence.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterInstance

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_dagster_home(home: Path, config: Path = ROOT / "dagster.yaml") -> None:
    """`config` (the top-level dagster.yaml) in a new home, its SQLite storage created once up front: a daemon
    and a code server starting together would otherwise race to stamp the schema (two alembic heads)."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(config, home / "dagster.yaml")
    DagsterInstance.from_config(str(home)).dispose()


def service_environment(dagster_home: Path, leap: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without its LEAP_/DAGSTER_ settings, plus `leap` and a private code server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAP_", "DAGSTER_"))}
    env.update({
        "DAGSTER_HOME": str(dagster_home),
        "LEAP_CODE_SERVER_HOST": "127.0.0.1", "LEAP_CODE_SERVER_BIND": "127.0.0.1",
        "LEAP_CODE_SERVER_PORT": str(free_port()), "LEAP_WORKSPACE": str(ROOT / "deploy" / "workspace.yaml"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "LEAP_INTAKE_STABLE_SECONDS": "0",  # inbox files are complete when dropped; the window has its own tests
        **leap,
    })
    return env


@dataclass
class Service:
    """A deploy/commands.sh service in its own process group, so stopping it stops its children."""

    name: str
    log: Path
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, name: str, env: dict[str, str], folder: Path) -> Service:
        log = folder / f"{name}.log"
        process = subprocess.Popen(["sh", str(ROOT / "deploy" / "commands.sh"), name], cwd=ROOT, env=env,
                                   stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        return cls(name, log, process)

    def check(self) -> None:
        """Raise with the end of its log if the service died (bad config, import error)."""
        if self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{tail}")

    def wait_listening(self, port: int, timeout: float = 120) -> None:
        """Until something accepts connections on `port` (the code server serving), or raise if it died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"{self.name} is not listening on {port} after {timeout:.0f} s")

    def stop(self) -> None:
        """SIGTERM to the group, SIGKILL if it has not gone within 30 s (a code server mid-request can hang)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)


def start_services(names: Iterable[str], env: dict[str, str], folder: Path) -> dict[str, Service]:
    """Start `names` as a deployment orders them: the code server first and serving, then the rest, so the
    daemon's first look at the code location is not a refused connection that a test would read as a load
    error (a daemon started at the same instant found the code server not yet listening: CI, session 11)."""
    names = list(names)
    started: dict[str, Service] = {}
    if "code-server" in names:
        started["code-server"] = Service.start("code-server", env, folder)
        started["code-server"].wait_listening(int(env["LEAP_CODE_SERVER_PORT"]))
    for name in names:
        if name not in started:
            started[name] = Service.start(name, env, folder)
    return started
