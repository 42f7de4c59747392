"""The isolation matrix, generated from the API's own methods and the CLI's own commands.

Every public method of every user-scoped API class (reached from `UserAPI`) and every `leap` command is
either called by user B with user A's ids, or listed in `NO_ID` with the reason it needs none. For each
call the whole database (every table) is snapshotted before and after: 0 changes, the refusal's own
audit record aside; and nothing the call returns or prints names anything of A's beyond the ids B
itself passed in. A new method or command fails `test_every_*_is_in_the_matrix` until it is classified.
"""

from __future__ import annotations

import inspect
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
import typer
from cryptography.fernet import Fernet

from leap_core.api import AdminAPI, Leap, UserAPI, create_user
from leap_core.api.automation import AutomationAPI
from leap_core.cli import app, context
from leap_core.db.models import AuditLog
from leap_core.errors import LeapError, PermissionDeniedError
from leap_core.notifications.events import notify, upload_failed
from leap_core.states import RecordingStatus
from tests.conftest import TEST_ACTOR, make_leap
from tests.support.builders import add_inbox, force_status, register_many
from tests.support.cli import leap as run_cli
from tests.support.snapshots import Snapshot, last_audit_id, refusals, snapshot

DAILY = {"type": "daily", "time": "06:00", "timezone": "UTC"}
ON_POSTGRES = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # production's backend
Call = Callable[[UserAPI, "Victim"], Any]


class Victim(dict[str, str]):
    """A's ids; remembers which ones a call named, since echoing those back is not a leak."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.named: set[str] = set()

    def __getitem__(self, key: str) -> str:
        value = super().__getitem__(key)
        self.named.add(value)
        return value


CORRECTED_SRT = b"1\n00:00:00,000 --> 00:00:02,000\nstolen words\n"


def _corrected_file() -> Path:
    """A corrected transcript on disk for `leap recordings edit` (B's own file, A's recording id)."""
    path = Path(tempfile.gettempdir()) / "leap-isolation-corrected.srt"
    path.write_bytes(CORRECTED_SRT)
    return path


# user-scoped API: "Class.method" -> how B calls it with A's ids ----------------------------------------------
API_CALLS: dict[str, Call] = {
    "UserAPI.add_local_source": lambda b, a: b.add_local_source("stolen", Path(a["inbox"])),
    "UserAPI.archive": lambda b, a: b.archive([a["recording"]]),
    "UserAPI.delete": lambda b, a: b.delete(a["recording"]),
    "UserAPI.process": lambda b, a: b.process([a["recording"]]),
    "UserAPI.recording": lambda b, a: b.recording(a["recording"]),
    "UserAPI.republish": lambda b, a: b.republish([a["recording"]]),
    "UserAPI.reset": lambda b, a: b.reset(a["failed"]),
    "UserAPI.review": lambda b, a: b.review(a["recording"]),
    "UserAPI.approve": lambda b, a: b.approve([a["recording"]]),
    "UserAPI.edit": lambda b, a: b.edit(a["recording"], CORRECTED_SRT, "fixed.srt"),
    "UserAPI.restore": lambda b, a: b.restore([a["recording"]]),
    "UserAPI.retry": lambda b, a: b.retry([a["failed"]]),
    "UserAPI.select": lambda b, a: b.select(source=a["source"], template=a["template"]),
    "UserAPI.skip": lambda b, a: b.skip([a["recording"]]),
    "UserAPI.stages": lambda b, a: b.stages(a["recording"]),
    "TasksAPI.cancel": lambda b, a: b.tasks.cancel(int(a["task"])),
    "TasksAPI.show": lambda b, a: b.tasks.show(int(a["task"])),
    "CredentialsAPI.delete": lambda b, a: b.credentials.delete("vk", a["credential"]),
    "CredentialsAPI.rotate": lambda b, a: b.credentials.rotate("vk", a["credential"]),
    "NotificationsAPI.deliveries": lambda b, a: b.notifications.deliveries(a["notification"]),
    "NotificationsAPI.mark_read": lambda b, a: b.notifications.mark_read([a["notification"]]),
    "SourcesAPI.add_local": lambda b, a: b.sources_api.add_local("stolen", Path(a["inbox"])),
    "SourcesAPI.add_yandex": lambda b, a: b.sources_api.add_yandex("y", a["credential"], "disk:/x"),
    "SourcesAPI.add_zoom": lambda b, a: b.sources_api.add_zoom("z", a["credential"]),
    "SourcesAPI.sync": lambda b, a: b.sources_api.sync(a["source"]),
    "TemplatesAPI.show": lambda b, a: b.templates_api.show(a["template"]),
    "TemplatesAPI.test": lambda b, a: b.templates_api.test("x.mp4", source=a["source"]),
    "TemplatesAPI.update": lambda b, a: b.templates_api.update(a["template"], priority=9),
    "TemplatesAPI.delete": lambda b, a: b.templates_api.delete(a["template"]),
    "AutomationAPI.create": lambda b, a: b.automation.create("j", a["template"], DAILY),
    "AutomationAPI.delete": lambda b, a: b.automation.delete(a["job"]),
    "AutomationAPI.disable": lambda b, a: b.automation.disable(a["job"]),
    "AutomationAPI.dry_run": lambda b, a: b.automation.dry_run(a["job"]),
    "AutomationAPI.enable": lambda b, a: b.automation.enable(a["job"]),
    "AutomationAPI.history": lambda b, a: b.automation.history(a["job"]),
    "AutomationAPI.run": lambda b, a: b.automation.run(a["job"]),
    "AutomationAPI.show": lambda b, a: b.automation.show(a["job"]),
    "AutomationAPI.update": lambda b, a: b.automation.update(a["job"], template=a["template"]),
}
# More forms of the same methods: a bulk call mixing the caller's own id with A's must refuse as a whole.
VARIANTS: dict[str, Call] = {
    "UserAPI.retry (own id + A's)": lambda b, a: b.retry([a["own_failed"], a["failed"]]),
    "UserAPI.process (own id + A's)": lambda b, a: b.process([a["own_recording"], a["recording"]]),
    "UserAPI.skip (own id + A's)": lambda b, a: b.skip([a["own_recording"], a["recording"]]),
}

# Methods that take no id of anything: why, and (for the ones that read or act on "all of mine") the call
# that is still made, so its result is checked for A's data and the database for changes.
MINE = "acts on the caller's own rows only: the user id comes from the API object, never from an argument"
CREATES = "creates a row owned by the caller; the owner is the API object's user, not an argument"
NO_ID: dict[str, tuple[str, Call | None]] = {
    "UserAPI.activity": (MINE, lambda b, a: b.activity()),
    "UserAPI.add_template": (CREATES, None),
    "UserAPI.quotas": (MINE, lambda b, a: b.quotas()),
    "UserAPI.recordings": (MINE, lambda b, a: b.recordings()),
    "UserAPI.search": (MINE + "; the query is text, never an id", lambda b, a: b.search("lecture")),
    "UserAPI.retry_failed_uploads": (MINE, lambda b, a: b.retry_failed_uploads()),
    "UserAPI.sources": (MINE, lambda b, a: b.sources()),
    "UserAPI.stats": (MINE, lambda b, a: b.stats().totals.to_dict()),
    "UserAPI.templates": (MINE, lambda b, a: b.templates()),
    "UserAPI.usage": (MINE, lambda b, a: b.usage()),
    "TasksAPI.list": (MINE, lambda b, a: b.tasks.list()),
    "CredentialsAPI.add": (CREATES, None),
    "CredentialsAPI.entries": (MINE, lambda b, a: b.credentials.entries()),
    "NotificationsAPI.drain": (MINE + " (every user's outbox is AdminAPI.drain_notifications)",
                               lambda b, a: b.notifications.drain()),
    "NotificationsAPI.list": (MINE, lambda b, a: b.notifications.list()),
    "NotificationsAPI.preferences": (MINE, lambda b, a: b.notifications.preferences()),
    "NotificationsAPI.set_preferences": ("changes the caller's own preferences (their user row only)", None),
    "NotificationsAPI.unread_count": (MINE, lambda b, a: b.notifications.unread_count()),
    "SourcesAPI.list": (MINE, lambda b, a: b.sources_api.list()),
    "TemplatesAPI.add": (CREATES, None),
    "TemplatesAPI.list": (MINE, lambda b, a: b.templates_api.list()),
    "TemplatesAPI.rematch": (MINE, lambda b, a: b.templates_api.rematch()),
    "AutomationAPI.list": (MINE, lambda b, a: b.automation.list()),
}
ADMIN_ONLY = "AdminAPI is handed out only by Leap.admin(actor), which refuses a non-admin (checked below)"

# CLI: command path -> arguments with A's ids (B runs them as LEAP_ACTOR=bob) --------------------------------
CLI_CALLS: dict[str, Callable[[Victim], list[str]]] = {
    "recordings show": lambda a: [a["recording"]],
    "recordings stages": lambda a: [a["recording"]],
    "recordings process": lambda a: [a["recording"]],
    "recordings skip": lambda a: [a["recording"]],
    "recordings retry": lambda a: [a["failed"]],
    "recordings delete": lambda a: [a["recording"]],
    "recordings republish": lambda a: [a["recording"]],
    "recordings reset": lambda a: [a["failed"]],
    "recordings review": lambda a: [a["recording"]],
    "recordings approve": lambda a: [a["recording"]],
    "recordings edit": lambda a: [a["recording"], str(_corrected_file())],
    "recordings archive": lambda a: [a["recording"]],
    "recordings restore": lambda a: [a["recording"]],
    "tasks show": lambda a: [a["task"]],
    "tasks cancel": lambda a: [a["task"]],
    "notifications read": lambda a: [a["notification"]],
    "notifications deliveries": lambda a: ["--notification", a["notification"]],
    "credentials rotate": lambda a: ["--platform", "vk", "--name", a["credential"]],
    "credentials delete": lambda a: ["vk", a["credential"]],
    "sources add-local": lambda a: ["stolen", a["inbox"]],
    "sources add-zoom": lambda a: ["z", "--credential", a["credential"]],
    "sources add-yandex": lambda a: ["y", "--folder", "disk:/x", "--credential", a["credential"]],
    "sources sync": lambda a: [a["source"]],
    "templates show": lambda a: [a["template"]],
    "templates update": lambda a: [a["template"], "--priority", "9"],
    "templates delete": lambda a: [a["template"]],
    "templates test": lambda a: ["x.mp4", "--source", a["source"]],
    "automation add": lambda a: ["j", "--template", a["template"], "--daily", "06:00"],
    "automation update": lambda a: [a["job"], "--template", a["template"]],
    "automation show": lambda a: [a["job"]],
    "automation history": lambda a: [a["job"]],
    "automation enable": lambda a: [a["job"]],
    "automation disable": lambda a: [a["job"]],
    "automation delete": lambda a: [a["job"]],
    "automation run": lambda a: [a["job"]],
    "automation dry-run": lambda a: [a["job"]],
    # admin commands, given A as their target: refused for B (not an admin)
    "users create": lambda a: ["mallory"],
    "users list": lambda a: [],
    "admin audit": lambda a: ["--user", a["user"]],
    "admin plans list": lambda a: [],
    "admin plans create": lambda a: ["free"],
    "admin plans update": lambda a: ["pro", "--limit", "max_storage_gb=1"],
    "admin plans delete": lambda a: ["pro"],
    "admin subscriptions list": lambda a: [],
    "admin subscriptions set": lambda a: [a["user"], "pro"],
    "admin subscriptions remove": lambda a: [a["user"]],
    "admin quotas show": lambda a: [a["user"]],
    "admin quotas override": lambda a: [a["user"], "--limit", "max_storage_gb=1"],
    "admin quotas clear": lambda a: [a["user"]],
    "admin quotas usage": lambda a: ["--user", a["user"]],
    "admin stats overview": lambda a: [],
    "admin stats users": lambda a: [],
    "admin stats user": lambda a: [a["user"]],
    "admin stats stages": lambda a: ["--user", a["user"]],
    "admin pools": lambda a: [],
    "admin usage verify": lambda a: ["--user", a["user"]],
    "notifications drain --all": lambda a: [],
    "webhooks serve": lambda a: ["--port", "1"],
}
CLI_MINE = "lists or acts on the caller's own rows (LEAP_ACTOR's user) only"
HOST_FILE = "works on a file the caller names on their own machine, with their OS rights; reads no LEAP rows"
CLI_NO_ID: dict[str, tuple[str, list[str] | None]] = {
    "init": ("bootstrap: creates the demo user, its inbox and template once, before any admin exists", None),
    "db upgrade": ("bootstrap: applies migrations; whoever holds LEAP_DATABASE_URL already holds the database",
                   None),
    "transcribe": (HOST_FILE, None),
    "topics": (HOST_FILE, None),
    "media probe": (HOST_FILE, None),
    "media trim": (HOST_FILE, None),
    "recordings list": (CLI_MINE, ["--json"]),
    "search": (CLI_MINE + "; the query is text, never an id", ["lecture", "--json"]),
    "audit list": (CLI_MINE, ["--json"]),
    "tasks list": (CLI_MINE, ["--json"]),
    "notifications list": (CLI_MINE, ["--json"]),
    "notifications count": (CLI_MINE, ["--json"]),
    "notifications prefs": (CLI_MINE + " (without options it only shows them)", ["--json"]),
    "notifications drain": (CLI_MINE + "; --all (every user's outbox) is admin-only, in CLI_CALLS", ["--json"]),
    "credentials add": (CREATES, None),
    "credentials list": (CLI_MINE, ["--json"]),
    "sources list": (CLI_MINE, ["--json"]),
    "templates add": (CREATES, None),
    "templates list": (CLI_MINE, ["--json"]),
    "templates rematch": (CLI_MINE, ["--json"]),
    "automation list": (CLI_MINE, ["--json"]),
}
EXTRA_CLI_FORMS = {"notifications drain --all": "notifications drain"}


# enumeration ----------------------------------------------------------------------------------------------
def user_scoped_classes() -> list[type]:
    """UserAPI and every sub-API its properties hand out (found by introspection, not listed by hand)."""
    import leap_core.api.users as users_module

    found: list[type] = [UserAPI]
    for _, member in inspect.getmembers(UserAPI, lambda m: isinstance(m, property)):
        cls = getattr(users_module, str(inspect.signature(member.fget).return_annotation), None)
        if isinstance(cls, type) and cls.__module__.startswith("leap_core.api") and cls not in found:
            found.append(cls)
    return found


def public_methods(cls: type) -> list[str]:
    return [f"{cls.__name__}.{name}" for name, member in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_")]


def cli_commands() -> list[str]:
    root = typer.main.get_command(app)
    found: list[str] = []

    def walk(command: click.Command, path: list[str], ctx: click.Context) -> None:
        if isinstance(command, click.Group) or hasattr(command, "list_commands"):
            group: Any = command
            for name in group.list_commands(ctx):
                sub = group.get_command(ctx, name)
                walk(sub, [*path, name], click.Context(sub, parent=ctx))
        else:
            found.append(" ".join(path))

    walk(root, [], click.Context(root))
    return found


def test_every_user_scoped_api_method_is_in_the_matrix() -> None:
    classes = user_scoped_classes()
    assert {c.__name__ for c in classes} >= {"UserAPI", "TasksAPI", "CredentialsAPI", "NotificationsAPI",
                                              "SourcesAPI", "TemplatesAPI", "AutomationAPI"}
    methods = {m for cls in classes for m in public_methods(cls)}
    assert methods - set(API_CALLS) - set(NO_ID) == set(), "classify new methods in API_CALLS or NO_ID"
    assert (set(API_CALLS) | set(NO_ID)) - methods == set(), "the matrix names methods that no longer exist"
    assert set(API_CALLS).isdisjoint(NO_ID)


def test_every_cli_command_is_in_the_matrix() -> None:
    commands = set(cli_commands())
    classified = {EXTRA_CLI_FORMS.get(c, c) for c in CLI_CALLS} | set(CLI_NO_ID)
    assert commands - classified == set(), "classify new commands in CLI_CALLS or CLI_NO_ID"
    assert classified - commands == set(), "the matrix names commands that no longer exist"


# the world: A with one of everything, B with a little of its own ---------------------------------------------
@dataclass
class World:
    leap: Leap
    alice: UserAPI
    bob: UserAPI
    victim: Victim
    markers: set[str]


@pytest.fixture
def world(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    key = Fernet.generate_key().decode()
    leap = make_leap(tmp_path, database_url)
    leap.settings.secret_key = key
    alice_user = create_user(leap.db, TEST_ACTOR, "alice", "alice-private@example.org", "user")
    bob_user = create_user(leap.db, TEST_ACTOR, "bob", None, "user")
    alice, bob = leap.as_user(alice_user["id"]), leap.as_user(bob_user["id"])
    inbox = add_inbox(alice, tmp_path, process_on_arrival=False)
    add_inbox(bob, tmp_path, process_on_arrival=False)
    recording, failed, queued = register_many(alice, 3)
    force_status(alice, [failed], RecordingStatus.FAILED, "download")
    alice.process([queued])
    own_recording, own_failed = register_many(bob, 2)
    force_status(bob, [own_failed], RecordingStatus.FAILED, "download")
    alice.credentials.add("vk", "alice-vk", {"token": "vk1.a.alice-secret-token-value-0000"})
    job = AutomationAPI(alice).create("nightly", "inbox", DAILY)
    with leap.db.session() as session:
        noticed = notify(session, alice.user_id, upload_failed(recording, "Alice's lecture", "vk", "boom", 1))
        assert noticed is not None
        notification_id = noticed.id
    task = alice.tasks.list()[0]
    victim = Victim(user=alice.user_id, recording=recording, failed=failed, template=alice.templates()[0]["id"],
                    source=alice.sources()[0]["id"], job=job["id"], task=str(task["id"]),
                    notification=notification_id, credential="alice-vk", inbox=str(inbox),
                    own_recording=own_recording, own_failed=own_failed)
    markers = {alice.user_id, recording, failed, queued, victim["template"], victim["source"], job["id"],
               notification_id, "alice-private@example.org", str(inbox), "alice-vk", "Alice's lecture"}
    victim.named.clear()
    monkeypatch.setenv("LEAP_SECRET_KEY", key)
    yield World(leap, alice, bob, victim, markers)
    leap.db.dispose()


class Snapshots:
    """The snapshot after one call is the one before the next (with the same filter): half the reads."""

    def __init__(self, leap: Leap) -> None:
        self.leap = leap
        self.last: tuple[str | None, Snapshot] | None = None

    def before(self, own: str | None) -> Snapshot:
        if self.last is not None and self.last[0] == own:
            return self.last[1]
        return snapshot(self.leap, own)

    def after(self, own: str | None) -> Snapshot:
        shot = snapshot(self.leap, own)
        self.last = (own, shot)
        return shot


def _leaks(world: World, shown: str) -> set[str]:
    return {m for m in world.markers - world.victim.named if m in shown}


def _changes(before: Snapshot, after: Snapshot) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def _refusals_name_only_the_caller(world: World, since: int) -> list[str]:
    """A refusal is recorded for the caller (or, flagged cross-tenant, for admins): never as A's row."""
    wrong = []
    for row in refusals(world.leap, since):
        if row.user_id == world.alice.user_id or (row.user_id is None and row.action != "tenancy.cross_tenant"):
            wrong.append(f"{row.action} recorded for {row.user_id}")
    return wrong


@ON_POSTGRES
def test_isolation_matrix_of_the_python_api(world: World) -> None:
    problems: list[str] = []
    # the no-id reads first: afterwards B's own activity names the ids B tried, which is no leak
    calls: dict[str, Call] = {**{k: c for k, (_, c) in NO_ID.items() if c is not None}, **API_CALLS, **VARIANTS}
    shots = Snapshots(world.leap)
    for name, call in calls.items():
        world.victim.named.clear()
        own = world.bob.user_id if name in NO_ID else None  # "all of mine" may audit B's own call
        before, since = shots.before(own), last_audit_id(world.leap)
        try:
            shown = json.dumps(call(world.bob, world.victim), default=str)
        except LeapError as error:
            shown = str(error)
        except Exception as error:  # an untyped crash is a finding, not a test error
            problems.append(f"{name}: crashed with {type(error).__name__}: {error}")
            shots.last = None
            continue
        changed = _changes(before, shots.after(own))
        problems += [f"{name}: changed {table}" for table in changed]
        problems += [f"{name}: leaked {leak!r}" for leak in _leaks(world, shown)]
        problems += [f"{name}: {wrong}" for wrong in _refusals_name_only_the_caller(world, since)]
    assert problems == []


@ON_POSTGRES
def test_refused_api_calls_are_all_audited_for_the_caller(world: World) -> None:
    since = last_audit_id(world.leap)
    refused = 0
    for call in API_CALLS.values():
        try:
            call(world.bob, world.victim)
        except LeapError:
            refused += 1
    rows = [r for r in refusals(world.leap, since) if r.user_id == world.bob.user_id]
    assert refused >= 25 and len(rows) == refused


@ON_POSTGRES
def test_the_admin_api_is_refused_to_a_user(world: World) -> None:
    assert all(m.startswith("AdminAPI.") for m in public_methods(AdminAPI))
    with pytest.raises(PermissionDeniedError):
        world.leap.admin("bob")
    with pytest.raises(PermissionDeniedError):
        world.leap.admin(world.bob.user_id)


@ON_POSTGRES
def test_isolation_matrix_of_the_cli(world: World, cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAP_ACTOR", "bob")
    context.leap.cache_clear()
    problems: list[str] = []
    shots = Snapshots(world.leap)
    runs: dict[str, Callable[[Victim], list[str]]] = {  # the no-id ones first, as in the API matrix
        **{k: (lambda a, given=args: list(given)) for k, (_, args) in CLI_NO_ID.items() if args}, **CLI_CALLS}
    for name, argv in runs.items():
        world.victim.named.clear()
        words = name.split()
        args = argv(world.victim)
        own = world.bob.user_id if name in CLI_NO_ID else None
        before, since = shots.before(own), last_audit_id(world.leap)
        code, out, err = run_cli(*words, *args)
        if code not in (0, 1) or "Traceback" in out + err:
            problems.append(f"leap {name}: exit {code}: {(err or out).strip()[:200]}")
        problems += [f"leap {name}: changed {table}" for table in _changes(before, shots.after(own))]
        problems += [f"leap {name}: leaked {leak!r}" for leak in _leaks(world, out + err)]
        problems += [f"leap {name}: {wrong}" for wrong in _refusals_name_only_the_caller(world, since)]
        admin_only = words[0] in ("users", "admin", "webhooks") or "--all" in words
        if admin_only and (code, err.strip()) != (1, "error: 'bob' is not an admin"):
            problems.append(f"leap {name}: not refused as admin-only ({code}, {err.strip()[:100]})")
    assert problems == []
    with world.leap.db.session() as session:
        assert session.query(AuditLog).filter(AuditLog.action == "admin.access").count() >= 19
