"""The pool table reaches every Dagster instance: the one `./scripts/dev` sets up, and one nobody set up."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import DagsterInstance, SkipReason, build_sensor_context, instance_for_test

from leap_core.pools import POOLS
from leap_dagster.assets import ALL_ASSETS
from leap_dagster.definitions import defs
from leap_dagster.pools import pool_limits_sensor

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = {name: pool.default_limit for name, pool in POOLS.items()}


def run_leap(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The installed `leap` command in its own process, as ./scripts/dev runs it."""
    return subprocess.run([str(Path(sys.executable).parent / "leap"), *args], env=env, capture_output=True,
                          text=True, check=False, cwd=env["LEAP_HOME"])


def leap(env: dict[str, str], *args: str) -> str:
    done = run_leap(env, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def dev_env(tmp_path: Path) -> dict[str, str]:
    """./scripts/dev's set-up: DAGSTER_HOME holding a copy of dagster.yaml, LEAP_HOME, nothing else."""
    dagster_home, leap_home = tmp_path / "dagster_home", tmp_path / "leap"
    dagster_home.mkdir()
    leap_home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAP_", "DAGSTER_"))}
    return {**env, "DAGSTER_HOME": str(dagster_home), "LEAP_HOME": str(leap_home)}


def instance_limits(dagster_home: str) -> dict[str, int]:
    with DagsterInstance.from_config(dagster_home) as instance:
        infos = instance.event_log_storage.get_concurrency_infos(list(POOLS))
        return {name: info.slot_count for name, info in infos.items()}


def test_leap_init_sets_every_pool_of_the_dev_instance_and_admin_pools_shows_them(dev_env: dict[str, str]) -> None:
    init = json.loads(leap(dev_env, "init", "--json"))
    assert init["pools"] == DEFAULTS == {"download": 4, "media": 2, "transcription": 1, "upload": 4,
                                         "automation": 1}
    assert instance_limits(dev_env["DAGSTER_HOME"]) == DEFAULTS

    with DagsterInstance.from_config(dev_env["DAGSTER_HOME"]) as instance:  # a trim step holding a slot
        instance.event_log_storage.claim_concurrency_slot("media", "run-1", "trimmed_video")
    rows = {row["pool"]: row for row in json.loads(leap(dev_env, "admin", "pools", "--json"))}
    assert rows["media"] == {"pool": "media", "limit": 2, "instance_limit": 2, "in_use": 1, "pending": 0,
                             "holds": POOLS["media"].holds}
    assert {name: row["in_use"] for name, row in rows.items()} == {**dict.fromkeys(POOLS, 0), "media": 1}
    table = leap(dev_env, "admin", "pools")
    assert table.splitlines()[0].split() == ["POOL", "LIMIT", "INSTANCE_LIMIT", "IN_USE", "PENDING", "HOLDS"]


def test_admin_pools_after_init_finds_the_instance_without_dagster_home(dev_env: dict[str, str]) -> None:
    leap(dev_env, "init")
    without = {k: v for k, v in dev_env.items() if k != "DAGSTER_HOME"}  # a new shell after ./scripts/dev
    rows = {row["pool"]: row["instance_limit"] for row in json.loads(leap(without, "admin", "pools", "--json"))}
    assert rows == DEFAULTS


def test_admin_pools_with_no_instance_known_says_so_in_one_line(dev_env: dict[str, str]) -> None:
    without = {k: v for k, v in dev_env.items() if k != "DAGSTER_HOME"}
    leap(without, "init")  # no DAGSTER_HOME: nothing recorded
    done = run_leap(without, "admin", "pools")
    assert done.returncode != 0
    assert "DAGSTER_HOME is not set and `leap init` recorded no Dagster instance" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_override_is_applied_and_dropping_it_converges_back(dev_env: dict[str, str]) -> None:
    leap({**dev_env, "LEAP_POOL_MEDIA": "3"}, "init")
    assert instance_limits(dev_env["DAGSTER_HOME"])["media"] == 3
    leap(dev_env, "init")
    assert instance_limits(dev_env["DAGSTER_HOME"]) == DEFAULTS


def test_deploy_commands_pools_applies_the_same_table(dev_env: dict[str, str]) -> None:
    env = {**dev_env, "LEAP_POOL_UPLOAD": "6", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["sh", str(ROOT / "deploy" / "commands.sh"), "pools"], env=env, check=True, cwd=ROOT)
    assert instance_limits(dev_env["DAGSTER_HOME"]) == {**DEFAULTS, "upload": 6}


def test_the_sensor_converges_an_instance_nobody_set_up() -> None:
    with instance_for_test() as instance:
        first = pool_limits_sensor(build_sensor_context(instance=instance))
        assert isinstance(first, SkipReason) and "pool limits set" in (first.skip_message or "")
        infos = instance.event_log_storage.get_concurrency_infos(list(POOLS))
        assert {name: info.slot_count for name, info in infos.items()} == DEFAULTS
        again = pool_limits_sensor(build_sensor_context(instance=instance))
        assert isinstance(again, SkipReason) and again.skip_message == "pool limits as configured"


def test_every_asset_runs_in_a_pool_of_the_table() -> None:
    pools = {asset.op.pool for asset in ALL_ASSETS} - {None}  # topics and subtitles take no pool: light work
    assert pools <= set(POOLS)
    assert pools >= {"download", "media", "transcription", "upload"}
    assert "pool_limits_sensor" in {s.name for s in defs.get_repository_def().sensor_defs}


def test_every_op_of_every_job_runs_in_a_pool_of_the_table_and_each_pool_is_used() -> None:
    """The table's limits hold only for steps that name a pool; a pool no step names (as `automation` was)
    limits nothing, and its Celery queue gets no task."""
    jobs = defs.get_repository_def().get_all_jobs()
    pools = {op.pool for job in jobs for op in job.graph.iterate_op_defs()} - {None}
    assert pools == set(POOLS)
    automation_ops = defs.resolve_job_def("automation_run").graph.iterate_op_defs()
    assert {(op.name, op.pool) for op in automation_ops} == {("run_automation_job", "automation")}
