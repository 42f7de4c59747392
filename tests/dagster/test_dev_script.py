"""`./scripts/dev` starts a quiet `dagster dev`: at `--log-level warning` unless DAGSTER_DEV_LOG_LEVEL says
otherwise, from DAGSTER_HOME (so it never warns that the repository's dagster.yaml "will not be used").

The script runs for real from a copy of the repository's top level whose `.venv` has only what it calls:
the installed `leap` and `dagster`, and a `pip` (and a `python3 -m venv`) that do nothing, since installing
LEAP is not what is tested. The first test puts a recorder in place of `dagster` to see how it is called;
the second starts the real `dagster dev` and reads what it printed while the daemon ticked LEAP's sensors.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from dagster import DagsterInstance

from tests.support.services import ROOT, free_port

NOTHING = "#!/bin/sh\nexit 0\n"
RECORDER = '#!/bin/sh\npwd > "$0.cwd"\nprintf "%s\\n" "$@" > "$0.args"\n'


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def dev_checkout(tmp_path: Path, dagster: str | None) -> tuple[Path, dict[str, str]]:
    """The repository's top level with scripts/dev, and the environment a developer's shell would give it.

    `dagster` is the recorder's text, or None for the installed `dagster`."""
    repo, tools = tmp_path / "repo", tmp_path / "tools"
    (repo / "scripts").mkdir(parents=True)
    (repo / ".venv" / "bin").mkdir(parents=True)
    tools.mkdir()
    shutil.copy(ROOT / "scripts" / "dev", repo / "scripts" / "dev")
    for name in ("dagster.yaml", "workspace.yaml"):
        shutil.copy(ROOT / name, repo / name)
    bin_dir, installed = repo / ".venv" / "bin", Path(sys.executable).parent
    executable(tools / "python3", NOTHING)  # `python3 -m venv .venv`: the .venv is already there
    executable(bin_dir / "pip", NOTHING)
    (bin_dir / "leap").symlink_to(installed / "leap")
    if dagster is None:
        (bin_dir / "dagster").symlink_to(installed / "dagster")
    else:
        executable(bin_dir / "dagster", dagster)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAP_", "DAGSTER_"))}
    env.update({"PATH": f"{tools}{os.pathsep}{os.environ['PATH']}", "LEAP_HOME": str(tmp_path / "leap"),
                "DAGSTER_HOME": str(tmp_path / "dagster_home"), "LEAP_PORT": str(free_port())})
    return repo, env


def test_dev_starts_dagster_dev_at_warning_level_from_dagster_home(tmp_path: Path) -> None:
    repo, env = dev_checkout(tmp_path, RECORDER)
    recorder = repo / ".venv" / "bin" / "dagster"
    for override, level in ((None, "warning"), ("info", "info")):
        run_env = env if override is None else {**env, "DAGSTER_DEV_LOG_LEVEL": override}
        done = subprocess.run([str(repo / "scripts" / "dev")], env=run_env, capture_output=True, text=True,
                              check=False)
        assert done.returncode == 0, done.stderr
        args = Path(f"{recorder}.args").read_text().splitlines()
        assert args[:3] == ["dev", "-w", str(repo / "workspace.yaml")]
        assert args[args.index("--log-level") + 1] == level
        assert Path(f"{recorder}.cwd").read_text().strip() == env["DAGSTER_HOME"]
        assert (Path(env["DAGSTER_HOME"]) / "dagster.yaml").read_text() == (ROOT / "dagster.yaml").read_text()
        assert f"logging at {level}" in done.stdout


def launcher_ticks(dagster_home: str) -> int:
    """How often the daemon has evaluated the launcher sensor (every 5 s): each is a line at `info`."""
    with DagsterInstance.from_config(dagster_home) as instance:
        states = [s for s in instance.all_instigator_state() if s.instigator_name == "launcher_sensor"]
        return sum(len(instance.get_ticks(s.instigator_origin_id, s.selector_id, limit=10)) for s in states)


def webserver_answers(port: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.mark.slow
def test_dev_is_quiet_while_the_daemon_ticks_every_sensor(tmp_path: Path) -> None:
    repo, env = dev_checkout(tmp_path, None)
    log = tmp_path / "dev.log"
    dev = subprocess.Popen([str(repo / "scripts" / "dev")], env=env, stdout=log.open("wb"),
                           stderr=subprocess.STDOUT, start_new_session=True)
    try:
        for _ in range(240):  # the UI answers, and the launcher has ticked three times: ~15 lines at `info`
            if dev.poll() is not None or (webserver_answers(env["LEAP_PORT"])
                                          and launcher_ticks(env["DAGSTER_HOME"]) >= 3):
                break
            time.sleep(0.5)
        assert dev.poll() is None, log.read_text()
        assert webserver_answers(env["LEAP_PORT"]) and launcher_ticks(env["DAGSTER_HOME"]) >= 3
    finally:
        os.killpg(dev.pid, signal.SIGTERM)
        dev.wait(timeout=60)
    printed = log.read_text()
    assert "will not be used" not in printed
    assert "Checking for new runs for sensor" not in printed
    # the script's two lines and Dagster's own notice that `dagster dev` is superseded by `dg dev`
    assert len(printed.splitlines()) <= 6, printed
