"""One place migrates: two processes starting on one empty database migrate it once, in turn; a process that
only uses the database refuses a schema that is not at head, naming the command that fixes it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from alembic.script import ScriptDirectory

from leap_core.api import Leap
from leap_core.config import Settings
from leap_core.db import schema
from leap_core.db.session import Database, alembic_config
from leap_core.errors import SchemaError
from tests.support.databases import _admin_execute, _url_for

ROOT = Path(__file__).resolve().parents[3]

# A real `leap …` (e.g. `db upgrade --json`) in its own process, held at a barrier until both processes have started,
# so they reach the migration together.
AT_ONCE = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from leap_core.cli import main
    go = Path(sys.argv[1])
    while not go.exists():
        time.sleep(0.01)
    sys.argv = ["leap", *sys.argv[2:]]
    main()
""")


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    name = f"leap_empty_{uuid.uuid4().hex[:10]}"
    _admin_execute(f"CREATE DATABASE {name}")
    try:
        yield _url_for(name)
    finally:
        _admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def environment(tmp_path: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAP_", "DAGSTER_"))}  # no instance: no pools
    env.update({"PYTHONPATH": str(ROOT), "LEAP_HOME": str(tmp_path / "home")})
    if database_url:
        env["LEAP_DATABASE_URL"] = database_url
    return env


def twice_at_once(tmp_path: Path, env: dict[str, str], *command: str) -> list[dict[str, object]]:
    go = tmp_path / "go"
    processes = [subprocess.Popen([sys.executable, "-c", AT_ONCE, str(go), *command], env=env, cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    time.sleep(3)  # both have imported LEAP and wait at the barrier (no assertion rests on this pause)
    go.touch()
    results = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-2000:]
        results.append(json.loads(out))
    return results


@pytest.mark.parametrize("backend", ["postgresql", "sqlite", "embedded"])
def test_two_processes_on_an_empty_database_migrate_it_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = {"postgresql": lambda: request.getfixturevalue("empty_pg_url"),
           "sqlite": lambda: f"sqlite:///{tmp_path / 'configured.db'}", "embedded": lambda: None}[backend]()

    results = twice_at_once(tmp_path, environment(tmp_path, url), "db", "upgrade", "--json")

    head = list(schema.head_revisions())
    assert sorted(r["applied"] for r in results) == [False, True]  # one migrated; the other waited, found it done
    assert [r["after"] for r in results] == [head, head]
    migrated = next(r for r in results if r["applied"])
    assert migrated["before"] == []
    final = Database(url or f"sqlite:///{tmp_path / 'home' / 'leap.db'}")
    assert schema.current_revisions(final.engine) == tuple(head)
    final.dispose()


def test_two_leap_inits_at_once_on_an_empty_embedded_home_migrate_and_seed_once(tmp_path: Path) -> None:
    results = twice_at_once(tmp_path, environment(tmp_path, None), "init", "--json")
    assert sorted(r["created"] for r in results) == [False, True]  # type: ignore[type-var]
    leap = Leap(Settings(home=tmp_path / "home"), Database(f"sqlite:///{tmp_path / 'home' / 'leap.db'}"))
    assert [u["slug"] for u in leap.admin("demo").list_users()] == ["demo"]
    assert len(leap.as_user("demo").sources()) == 1
    leap.db.dispose()


def test_a_configured_database_behind_head_is_refused_with_the_command_to_run(
    empty_pg_url: str, tmp_path: Path
) -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "leap"), "recordings", "list"], check=False,
                          env=environment(tmp_path, empty_pg_url), cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: the database schema is at nothing (an empty database), this LEAP needs "
        f"{'+'.join(schema.head_revisions())}: run `leap db upgrade`"]
    assert schema.current_revisions(Database(empty_pg_url).engine) == ()  # nothing was migrated behind its back


def test_from_env_checks_a_configured_database_but_the_embedded_default_upgrades_itself(
    empty_pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAP_DATABASE_URL", empty_pg_url)
    with pytest.raises(SchemaError, match="run `leap db upgrade`"):
        Leap.from_env()
    monkeypatch.delenv("LEAP_DATABASE_URL")
    embedded = Leap.from_env()
    assert schema.current_revisions(embedded.db.engine) == schema.head_revisions()
    embedded.db.dispose()


def test_the_head_read_from_the_files_is_alembics(tmp_path: Path) -> None:
    script = ScriptDirectory.from_config(alembic_config(f"sqlite:///{tmp_path / 'x.db'}"))
    assert schema.head_revisions() == tuple(sorted(script.get_heads()))


def test_the_deployment_migrates_once_before_any_service_starts(empty_pg_url: str, tmp_path: Path) -> None:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # `leap` from this interpreter
    env = {**environment(tmp_path, empty_pg_url), "PATH": path}
    subprocess.run(["sh", str(ROOT / "deploy" / "commands.sh"), "migrate"], env=env, cwd=ROOT, check=True,
                   capture_output=True)
    assert schema.current_revisions(Database(empty_pg_url).engine) == schema.head_revisions()
    services = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"]
    leap_services = {name for name, spec in services.items() if "deploy/commands.sh" in spec.get("command", [])}
    assert {name for name in leap_services if "migrate" in services[name]["depends_on"]} == leap_services - {"migrate"}
