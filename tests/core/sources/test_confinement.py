"""Filesystem confinement: local sources only where an admin allows, never reaching LEAP's folders or another
user's, through symlinks neither when added nor later; files LEAP writes stay inside their root whatever a
platform names them."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from leap_core.api import Leap, UserAPI
from leap_core.db.models import Credential, Recording
from leap_core.errors import StageError
from leap_core.paths import FolderIndex, PathEscapeError, confine_local_source, inside, overlaps, safe_extension
from leap_core.secrets import SecretBox
from leap_core.storage import recording_files
from tests.fakes.http_server import FakeHTTPServer
from tests.fakes.zoom import FakeZoom
from tests.fixtures.media import make_lecture

VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"x" * 64


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


@pytest.fixture
def bobs_inbox(bob: UserAPI, tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox-bob"
    bob.add_local_source("inbox", inbox)
    (inbox / "private lecture.mp4").write_bytes(VIDEO)
    return inbox


def test_a_folder_outside_the_allowed_roots_is_refused_and_not_created(
    alice: UserAPI, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "new" / "folder"
    with pytest.raises(PathEscapeError, match="outside the folders allowed for local sources"):
        alice.add_local_source("x", elsewhere)
    assert not elsewhere.parent.exists()
    assert alice.sources() == []


@pytest.mark.parametrize("where", ["itself", "a folder inside it", "a folder containing it"])
def test_another_users_inbox_is_refused(alice: UserAPI, bobs_inbox: Path, where: str) -> None:
    target = {"itself": bobs_inbox, "a folder inside it": bobs_inbox / "sub",
              "a folder containing it": bobs_inbox.parent}[where]
    with pytest.raises(PathEscapeError, match=r"overlaps (another user's local source|LEAP's storage)"):
        alice.add_local_source("steal", target)
    assert alice.sources() == []
    assert not (bobs_inbox / "sub").exists()


@pytest.mark.parametrize("folder", ["storage", "export"])
def test_leaps_own_storage_and_export_are_refused(alice: UserAPI, leap: Leap, folder: str) -> None:
    own = leap.settings.leap_folders[folder]
    for target in (own, own / "bob", own.parent):
        with pytest.raises(PathEscapeError, match=r"overlaps LEAP's (storage|export) folder"):
            alice.add_local_source("steal", target)
    assert alice.sources() == []


@pytest.mark.parametrize("leads_to", ["another user's inbox", "storage", "outside the roots"])
def test_a_symlink_is_judged_by_where_it_leads(
    alice: UserAPI, leap: Leap, bobs_inbox: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
    leads_to: str,
) -> None:
    target = {"another user's inbox": bobs_inbox, "storage": leap.settings.resolved_storage_dir,
              "outside the roots": tmp_path_factory.mktemp("outside")}[leads_to]
    target.mkdir(parents=True, exist_ok=True)
    link = tmp_path / "innocent-looking"
    link.symlink_to(target, target_is_directory=True)
    with pytest.raises(PathEscapeError, match="through a symlink"):
        alice.add_local_source("link", link)
    assert alice.sources() == []


def test_a_symlink_planted_later_inside_a_source_is_not_followed(
    alice: UserAPI, bob: UserAPI, bobs_inbox: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox-alice"
    alice.add_local_source("inbox", inbox)
    (inbox / "mine.mp4").write_bytes(VIDEO)
    (inbox / "theirs.mp4").symlink_to(bobs_inbox / "private lecture.mp4")
    (inbox / "their-folder").symlink_to(bobs_inbox, target_is_directory=True)

    [summary] = alice.sources_api.sync()

    assert summary["listed"] == 1
    assert [r["source_name"] for r in alice.recordings()] == ["mine.mp4"]


def test_a_source_folder_replaced_later_by_a_symlink_fails_its_sync_and_registers_nothing(
    alice: UserAPI, bobs_inbox: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox-alice"
    alice.add_local_source("inbox", inbox)
    inbox.rmdir()
    inbox.symlink_to(bobs_inbox, target_is_directory=True)

    [summary] = alice.sources_api.sync()

    assert "another user's local source" in summary["error"]
    assert alice.recordings() == []
    (entry,) = alice.activity(action="source.sync")
    assert entry["result"] == "failure"


def test_a_file_swapped_for_an_escaping_symlink_after_listing_is_not_downloaded(
    alice: UserAPI, bobs_inbox: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox-alice"
    alice.add_local_source("inbox", inbox)
    alice.add_template("inbox", targets=["local"], process_on_arrival=False)
    (inbox / "talk.mp4").write_bytes(VIDEO)
    alice.sources_api.sync()
    alice.sources_api.sync()  # the second scan sees a stable size: INITIALIZED
    [recording] = alice.recordings()
    (inbox / "talk.mp4").unlink()
    (inbox / "talk.mp4").symlink_to(bobs_inbox / "private lecture.mp4")

    with pytest.raises(StageError, match="leads out of"):
        alice.leap.pipeline.download(recording["id"])
    assert files_under(alice.leap.settings.resolved_storage_dir) == set()


@pytest.mark.parametrize("hostile", ["../../../../escaped", "/etc/cron.d/x", "mp4/../../../x", "..", "m\x00p4"])
def test_a_hostile_platform_extension_is_written_inside_storage(
    leap: Leap, alice: UserAPI, server: FakeHTTPServer, tmp_path: Path, hostile: str
) -> None:
    leap.settings.secret_key = SecretBox.generate_key()
    leap.settings.zoom_api_url, leap.settings.zoom_oauth_url = f"{server.url}/v2", server.url
    zoom = FakeZoom(server)
    meeting = zoom.add_meeting("Lecture", datetime.now(UTC) - timedelta(days=1), audio=False)
    meeting["recording_files"][0]["file_extension"] = hostile
    [file_id] = zoom.contents
    zoom.contents[file_id] = make_lecture().path.read_bytes()
    meeting["recording_files"][0]["file_size"] = len(zoom.contents[file_id])
    box = SecretBox(leap.settings.secret_keys)
    with leap.db.session() as session:
        session.add(Credential(user_id=alice.user_id, platform="zoom", name="school", hint="…test",
                               encrypted=box.encrypt({"account_id": zoom.account_id, "client_id": zoom.client_id,
                                                      "client_secret": zoom.client_secret})))
    alice.sources_api.add_zoom("zoom", "school")
    alice.add_template("all", targets=["local"], process_on_arrival=False)
    alice.sources_api.sync()
    [recording] = alice.recordings()
    before = files_under(tmp_path)

    alice.leap.pipeline.download(recording["id"])

    storage = leap.settings.resolved_storage_dir
    written = files_under(tmp_path) - before
    with leap.db.session() as session:
        row = session.scalar(select(Recording).where(Recording.id == recording["id"]))
        assert row is not None
    expected = storage / "alice" / recording["id"] / f"source.{row.extension}"
    assert row.extension == safe_extension(hostile) and row.extension.isalnum()
    assert written == {expected}
    assert expected.read_bytes() == next(iter(zoom.contents.values()))


@pytest.mark.parametrize("part", ["..", "../x", "a/b", ".hidden", "", "x" * 200, "a\\..\\b"])
def test_a_storage_path_from_an_unsafe_part_is_refused(tmp_path: Path, part: str) -> None:
    with pytest.raises(PathEscapeError):
        recording_files(tmp_path, part, "01HX", "mp4")
    with pytest.raises(PathEscapeError):
        inside(tmp_path, "alice", part)


def test_a_storage_folder_that_is_a_symlink_out_of_storage_is_refused(tmp_path: Path) -> None:
    storage, outside = tmp_path / "storage", tmp_path / "outside"
    (storage / "alice").mkdir(parents=True)
    outside.mkdir()
    os.symlink(outside, storage / "alice" / "01HX")
    with pytest.raises(PathEscapeError, match="outside"):
        recording_files(storage, "alice", "01HX", "mp4")


def test_the_inbox_is_an_allowed_root_without_any_setting(tmp_path: Path) -> None:
    inbox = tmp_path / "home" / "inbox"
    assert confine_local_source(inbox / "course", [inbox], {}, []) == (inbox / "course").resolve()


def test_the_folder_index_answers_as_a_scan_of_every_other_folder(tmp_path: Path) -> None:
    """The sync tick's index (ancestor lookup + sorted prefixes) finds exactly the overlaps a comparison
    with each other user's folder finds, siblings sharing a name prefix included."""
    folders = {"a": ["x/a", "x/ab", "y"], "b": ["x/a/deep", "z/q"], "c": ["x"]}
    index = FolderIndex((tmp_path / f, owner) for owner, fs in folders.items() for f in fs)
    probes = ["x", "x/a", "x/a/deep/er", "x/abc", "x/ab", "y/1", "z", "z/qq", "w", "x/a/deep"]
    for owner in folders:
        others = [(tmp_path / f).resolve() for o, fs in folders.items() if o != owner for f in fs]
        for probe in probes:
            folder = (tmp_path / probe).resolve()
            assert index.overlaps(folder, owner) == any(overlaps(folder, o) for o in others), (owner, probe)
