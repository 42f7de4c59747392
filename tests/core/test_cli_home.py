"""The `leap` command from any folder: one per-user home, or the one `leap init` recorded; LEAP_HOME wins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from leap_core.api import UserAPI
from leap_core.cli.recordings import COLUMNS
from leap_core.db.models import Recording
from leap_core.recordings import retry
from leap_core.states import RecordingStatus
from tests.support.builders import add_inbox, force_status, register_many

ROOT = Path(__file__).resolve().parents[2]


def leap_in(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The real command in a fresh process, run from `folder`, with only the environment given."""
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.run([sys.executable, "-c", "from leap_core.cli import main; main()", *args], cwd=folder,
                          env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), **env},
                          capture_output=True, text=True, timeout=120)


def test_leap_init_records_its_home_and_the_cli_finds_it_from_another_folder(tmp_path: Path) -> None:
    user_dirs = {"HOME": str(tmp_path / "user"), "XDG_CONFIG_HOME": str(tmp_path / "user" / ".config"),
                 "XDG_DATA_HOME": str(tmp_path / "user" / ".local" / "share")}
    repo_home = tmp_path / "repo" / ".leap"  # what ./scripts/dev sets up
    init = leap_in(tmp_path / "repo", {**user_dirs, "LEAP_HOME": str(repo_home)}, "init", "--json")
    assert init.returncode == 0, init.stderr
    assert json.loads(init.stdout)["config"] == str(tmp_path / "user" / ".config" / "leap" / "home")

    elsewhere = tmp_path / "somewhere" / "else"
    listed = leap_in(elsewhere, user_dirs, "recordings", "list", "--json")

    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []
    assert not (elsewhere / ".leap").exists()  # no stray home in the working directory
    sources = leap_in(elsewhere, user_dirs, "sources", "list", "--json")
    assert [s["path"] for s in json.loads(sources.stdout)] == [str(repo_home / "inbox")]


def test_without_leap_init_the_default_home_is_the_per_user_data_folder(tmp_path: Path) -> None:
    user_dirs = {"HOME": str(tmp_path / "user"), "XDG_CONFIG_HOME": str(tmp_path / "user" / ".config"),
                 "XDG_DATA_HOME": str(tmp_path / "user" / ".local" / "share")}
    first = leap_in(tmp_path / "a", user_dirs, "init", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["home"] == str(tmp_path / "user" / ".local" / "share" / "leap")
    assert not (tmp_path / "a" / ".leap").exists()

    other = leap_in(tmp_path / "b", {**user_dirs, "LEAP_HOME": str(tmp_path / "explicit")}, "sources", "list")
    assert other.returncode != 0 and "user not found: demo" in other.stderr  # LEAP_HOME wins: an empty home


def test_recordings_list_shows_the_skip_reason_and_forgets_a_failed_stage_after_a_good_retry(
    alice: UserAPI, tmp_path: Path
) -> None:
    add_inbox(alice, tmp_path)
    skipped, retried = register_many(alice, 2)
    force_status(alice, [skipped], RecordingStatus.SKIPPED)
    force_status(alice, [retried], RecordingStatus.FAILED, stage="trim")
    with alice.leap.db.session() as session:
        session.get_one(Recording, skipped).skip_reason = "blank"
        retry(session, alice.actor, [session.get_one(Recording, retried)])
    with alice.leap.db.session() as session:
        session.get_one(Recording, retried).status = RecordingStatus.UPLOADED  # the retried run went through

    views = {r["id"]: r for r in alice.recordings()}

    assert views[skipped]["skip_reason"] == "blank" and "skip_reason" in COLUMNS
    assert (views[retried]["status"], views[retried]["failed_at_stage"]) == ("UPLOADED", None)
