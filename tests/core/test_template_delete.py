"""Templates managed in full: update from the CLI, delete refused while used, `--force` detaching the users."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leap_core.api import UserAPI
from leap_core.errors import ValidationError
from leap_core.states import RecordingStatus
from tests.support.builders import force_status, register_many
from tests.support.cli import leap as run_leap

DAILY = {"type": "daily", "time": "06:00", "timezone": "UTC"}


def test_a_template_used_by_recordings_is_not_deleted_and_the_refusal_is_audited(
    alice: UserAPI, tmp_path: Path
) -> None:
    alice.add_local_source("inbox", tmp_path / "inbox")
    alice.add_template("lectures", targets=["local"], process_on_arrival=False)
    register_many(alice, 2)

    with pytest.raises(ValidationError, match=r"used by 2 recording\(s\)"):
        alice.templates_api.delete("lectures")

    assert [t["name"] for t in alice.templates()] == ["lectures"]
    (refusal,) = alice.activity(action="template.delete")  # one record, not the wrapper's and another
    assert refusal["result"] == "refused" and "used by 2 recording(s)" in refusal["details"]["reason"]


def test_a_template_an_automation_job_runs_is_not_deleted(alice: UserAPI, tmp_path: Path) -> None:
    alice.add_local_source("inbox", tmp_path / "inbox")
    alice.add_template("lectures", targets=["local"])
    alice.automation.create("mornings", "lectures", DAILY)

    with pytest.raises(ValidationError, match="automation job"):
        alice.templates_api.delete("lectures")
    assert [j["name"] for j in alice.automation.list()] == ["mornings"]


def test_force_detaches_the_recordings_deletes_the_jobs_and_rematches_the_waiting_ones(
    alice: UserAPI, tmp_path: Path
) -> None:
    alice.add_local_source("inbox", tmp_path / "inbox")
    alice.add_template("lectures", targets=["local"], process_on_arrival=False, priority=5)
    done, waiting = register_many(alice, 2)
    force_status(alice, [done], RecordingStatus.UPLOADED)
    alice.automation.create("mornings", "lectures", DAILY)
    alice.add_template("general", targets=["local"], process_on_arrival=False)

    report = alice.templates_api.delete("lectures", force=True)

    assert sorted(report["detached_recordings"]) == sorted([done, waiting])
    assert report["deleted_automation_jobs"] == ["mornings"]
    assert [t["name"] for t in alice.templates()] == ["general"]
    assert alice.automation.list() == []
    assert alice.recording(done)["template_id"] is None  # processed: keeps its state and targets, loses the link
    assert alice.recording(done)["status"] == "UPLOADED"
    assert alice.recording(waiting)["template_id"] == alice.templates_api.show("general")["id"]
    (entry,) = alice.activity(action="template.delete")
    assert entry["result"] == "success" and entry["details"]["force"] is True


def test_another_users_template_reads_as_missing(alice: UserAPI, bob: UserAPI, tmp_path: Path) -> None:
    alice.add_local_source("inbox", tmp_path / "inbox")
    alice.add_template("lectures", targets=["local"])
    with pytest.raises(Exception, match="template not found"):
        bob.templates_api.delete("lectures", force=True)
    assert [t["name"] for t in alice.templates()] == ["lectures"]


@pytest.mark.usefixtures("cli_env")
def test_the_cli_updates_and_deletes_templates(tmp_path: Path) -> None:
    run_leap("init")
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"name_glob": "lecture*"}))
    code, out, err = run_leap("templates", "add", "lectures", "--target", "local", "--wait-for-job", "--json")
    assert code == 0, err

    code, out, err = run_leap("templates", "update", "lectures", "--priority", "7", "--target", "local",
                              "--target", "vk", "--rules", str(rules), "--json")
    assert code == 0, err
    updated = json.loads(out)
    assert (updated["priority"], updated["targets"]) == (7, ["local", "vk"])
    assert updated["rules"] == {"name_glob": "lecture*"}

    code, _, err = run_leap("templates", "update", "lectures")
    assert code == 2 and "nothing to change" in err

    code, _, err = run_leap("automation", "add", "nightly", "--template", "lectures", "--daily", "06:00")
    assert code == 0, err
    code, _, err = run_leap("templates", "delete", "lectures")
    assert code == 1 and err.startswith("error: template 'lectures' is used by automation job(s) nightly")

    code, out, err = run_leap("templates", "delete", "lectures", "--force", "--json")
    assert code == 0, err
    assert json.loads(out)["deleted_automation_jobs"] == ["nightly"]
    code, out, _ = run_leap("templates", "list", "--json")
    assert [t["name"] for t in json.loads(out)] == ["inbox"]
