"""Templates: which recordings they claim (matching rules), what their metadata presets render to, and rematch.

Rules and presets are user input evaluated by LEAP's own workers, so both are checked when a template is
saved and evaluated defensively afterwards: name regexes run under a timeout (a catastrophic pattern can
at worst not match), and presets render in `leap_core.preset_sandbox`: Jinja2's sandbox with a budget of
time, memory, output and nesting per render.
"""

from __future__ import annotations

import fnmatch
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import regex
from jinja2 import TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SecurityError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from leap_core import audit, preset_sandbox
from leap_core.audit import Actor
from leap_core.db.models import AutomationJob, OutputTarget, Recording, Source, Template
from leap_core.db.types import utcnow
from leap_core.errors import ValidationError
from leap_core.preset_sandbox import PresetLimitError
from leap_core.publishing.metadata import format_timestamp, static_overrun
from leap_core.sources.base import SourceFile
from leap_core.stages import PLATFORMS
from leap_core.states import RecordingStatus, TargetStatus

log = logging.getLogger(__name__)

RULE_KEYS = frozenset(
    {"source_ids", "name_glob", "name_regex", "min_duration_s", "max_duration_s", "weekdays", "time_from",
     "time_to", "timezone"}
)
MAX_PATTERN_LENGTH = 200
REGEX_TIMEOUT_S = 0.05
"""A name is at most 1000 characters; an honest pattern decides on it in microseconds."""
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}]\)\s*[+*{]")
"""`(a+)+`, `(\\w*)*`, `(x{1,9}){2,}`: a quantified group whose body is itself quantified."""
REMATCHABLE = (RecordingStatus.PENDING_SOURCE, RecordingStatus.INITIALIZED)
"""Only recordings no stage has touched yet may change template; the others keep the one they ran with."""

PRESET_FIELDS = frozenset({"title", "description", "tags"})
"""Rendered with Jinja in the sandbox."""
PRESET_SETTINGS = frozenset({
    "credential", "privacy", "category_id", "language", "publish_at", "playlist_id", "captions",
    "group_id", "album_id", "privacy_view", "thumbnail",
})
"""Plain values handed to the platform as they are (see leap_core.publishing.platforms)."""


@dataclass(frozen=True)
class Candidate:
    """What matching looks at, from a freshly listed file or from a recording already registered."""

    source_id: str | None
    name: str
    duration_s: float | None
    recorded_at: datetime | None

    @classmethod
    def of_file(cls, source: Source, file: SourceFile) -> Candidate:
        return cls(source.id, file.name, file.duration_s, file.recorded_at)

    @classmethod
    def of_recording(cls, recording: Recording) -> Candidate:
        return cls(recording.source_id, recording.source_name, recording.duration_s, recording.recorded_at)


# rules ---------------------------------------------------------------------------------------------


def validate_rules(rules: Mapping[str, Any]) -> dict[str, Any]:
    """The rules as stored, or a ValidationError naming the first bad one."""
    unknown = sorted(set(rules) - RULE_KEYS)
    if unknown:
        raise ValidationError(f"unknown rule(s): {', '.join(unknown)}; known: {', '.join(sorted(RULE_KEYS))}")
    clean = {k: v for k, v in rules.items() if v is not None and v != [] and v != ""}
    if "source_ids" in clean and not all(isinstance(s, str) for s in clean["source_ids"]):
        raise ValidationError("source_ids must be a list of source ids")
    if "name_glob" in clean:
        _check_pattern_length("name_glob", str(clean["name_glob"]))
    if "name_regex" in clean:
        compile_name_regex(str(clean["name_regex"]))
    for key in ("min_duration_s", "max_duration_s"):
        if key in clean and (not isinstance(clean[key], int | float) or clean[key] < 0):
            raise ValidationError(f"{key} must be a number of seconds ≥ 0")
    if clean.get("min_duration_s", 0) > clean.get("max_duration_s", float("inf")):
        raise ValidationError("min_duration_s is larger than max_duration_s")
    if "weekdays" in clean and not all(isinstance(d, int) and 1 <= d <= 7 for d in clean["weekdays"]):
        raise ValidationError("weekdays are ISO numbers: 1 = Monday … 7 = Sunday")
    for key in ("time_from", "time_to"):
        if key in clean:
            parse_clock(clean[key], key)
    if ("time_from" in clean) != ("time_to" in clean):
        raise ValidationError("a time window needs both time_from and time_to")
    if "timezone" in clean:
        zone(clean["timezone"])
    return clean


MAX_TIMEZONE_LENGTH = 64
"""The longest IANA name is 32 characters; anything much longer is not a timezone (and a 300-character
name made ZoneInfo raise a raw OSError, "File name too long")."""


def parse_clock(value: object, what: str) -> time:
    """`HH:MM` (24-hour) as a time, or a ValidationError that says which field was wrong.

    A time with an offset ("06:00+05:00") is refused rather than read: the schedule's or rule's own
    `timezone` says where the clock is, and keeping only "06:00" would silently drop the offset.
    """
    text = str(value)
    try:
        parsed = time.fromisoformat(text) if len(text) <= 16 else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError(f"{what} must be a time as HH:MM, got {text[:40]!r}")
    if parsed.tzinfo is not None:
        raise ValidationError(f"{what} {text!r} has a UTC offset; give HH:MM and set the timezone instead")
    return parsed.replace(second=0, microsecond=0)


def zone(name: object) -> ZoneInfo:
    """An IANA timezone, or a ValidationError: never a raw OSError for an over-long or odd name."""
    if not isinstance(name, str) or not name or len(name) > MAX_TIMEZONE_LENGTH:
        shown = name[:40] + "…" if isinstance(name, str) and len(name) > 40 else name
        raise ValidationError(f"timezone must be an IANA name of at most {MAX_TIMEZONE_LENGTH} characters "
                              f"(such as Europe/Berlin), got {shown!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError(f"unknown timezone {name!r} (use an IANA name such as Europe/Berlin)") from None


def _check_pattern_length(key: str, pattern: str) -> None:
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValidationError(f"{key} is longer than {MAX_PATTERN_LENGTH} characters")


def compile_name_regex(pattern: str) -> regex.Pattern[str]:
    """A case-insensitive pattern, refused when it is long or nests quantifiers (catastrophic backtracking)."""
    _check_pattern_length("name_regex", pattern)
    if _NESTED_QUANTIFIER.search(pattern):
        raise ValidationError("name_regex nests a quantifier inside a quantified group (e.g. (a+)+); simplify it")
    try:
        return regex.compile(pattern, regex.IGNORECASE | regex.VERSION0)
    except regex.error as exc:
        raise ValidationError(f"name_regex is not a valid regular expression: {exc}") from None


def _regex_matches(pattern: str, name: str) -> bool:
    """Bounded: a pattern that still explodes on some name is cut off and counts as no match."""
    try:
        return compile_name_regex(pattern).search(name, timeout=REGEX_TIMEOUT_S) is not None
    except TimeoutError:
        log.warning("name_regex %r timed out on a file name; treated as no match", pattern)
        return False


def matches(rules: Mapping[str, Any], candidate: Candidate) -> bool:
    """Every rule present must hold; an absent rule holds for everything."""
    source_ids = rules.get("source_ids") or []
    if source_ids and candidate.source_id not in source_ids:
        return False
    glob = rules.get("name_glob")
    if glob and not fnmatch.fnmatchcase(candidate.name.lower(), str(glob).lower()):
        return False
    pattern = rules.get("name_regex")
    if pattern and not _regex_matches(str(pattern), candidate.name):
        return False
    return _duration_matches(rules, candidate.duration_s) and _when_matches(rules, candidate.recorded_at)


def _duration_matches(rules: Mapping[str, Any], duration_s: float | None) -> bool:
    """An unknown duration (a local file before probing) does not exclude: the rules cannot tell yet."""
    if duration_s is None:
        return True
    low, high = rules.get("min_duration_s"), rules.get("max_duration_s")
    return (low is None or duration_s >= float(low)) and (high is None or duration_s <= float(high))


def _when_matches(rules: Mapping[str, Any], recorded_at: datetime | None) -> bool:
    if recorded_at is None or not (rules.get("weekdays") or rules.get("time_from")):
        return True
    local = (recorded_at if recorded_at.tzinfo else recorded_at.replace(tzinfo=UTC)).astimezone(
        zone(rules.get("timezone") or "UTC")
    )
    if rules.get("weekdays") and local.isoweekday() not in rules["weekdays"]:
        return False
    if not rules.get("time_from"):
        return True
    start, end = parse_clock(rules["time_from"], "time_from"), parse_clock(rules["time_to"], "time_to")
    now = local.time()
    return start <= now < end if start <= end else (now >= start or now < end)


def ranked(templates: Iterable[Template]) -> list[Template]:
    """Highest priority first; ties go to the oldest, so adding a template never steals existing matches."""
    return sorted(templates, key=lambda t: (-t.priority, t.created_at, t.id))


def choose(templates: Sequence[Template], candidate: Candidate) -> Template | None:
    return next((t for t in ranked(templates) if matches(t.rules or {}, candidate)), None)


# trim settings -----------------------------------------------------------------------------------


def validate_trim(trim: Mapping[str, Any]) -> dict[str, Any]:
    """The trim settings as stored (as given), or a ValidationError naming the first bad field: checked at
    save, so a typo fails here and not at the trim stage of the next recording."""
    import pydantic

    from leap_core.media.trim import TrimConfig  # deferred: the media stack is heavy, only saving needs it

    try:
        TrimConfig.model_validate(trim)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "trim"
        raise ValidationError(f"trim setting {where}: {first['msg']}") from None
    return dict(trim)


# presets ---------------------------------------------------------------------------------------------


SAMPLE_CONTEXT: dict[str, Any] = {
    "title": "Linear algebra, lecture 3",
    "date": "2024-03-04",
    "recorded_at": datetime(2024, 3, 4, 10, 0, tzinfo=UTC),
    "duration_min": 88,
    "source_name": "Linear algebra, lecture 3.mp4",
    "topics": ["eigenvalues", "diagonalisation"],
    "chapters": [{"start": 0.0, "timestamp": "0:00", "title": "Introduction"}],
    "summary": "Eigenvalues and when a matrix can be diagonalised.",
    "user": "alice",
}
"""Every field a preset may use, with plausible values: saving renders each preset against it."""


def preset_context(
    recording: Recording, user_slug: str, topics: Sequence[str] = (), chapters: Sequence[Mapping[str, Any]] = (),
    summary: str = "",
) -> dict[str, Any]:
    """The fields a preset sees: the recording's own, its date, and what the speech stages found."""
    return {
        "title": recording.title,
        "date": recording.recorded_at.date().isoformat(),
        "recorded_at": recording.recorded_at,
        "duration_min": round((recording.duration_s or 0) / 60),
        "source_name": recording.source_name,
        "topics": list(topics),
        "chapters": [
            {"start": float(c["start"]), "timestamp": format_timestamp(float(c["start"])), "title": str(c["title"])}
            for c in chapters
        ],
        "summary": summary,
        "user": user_slug,
    }


def render_preset(template_text: str, context: Mapping[str, Any]) -> str:
    """Render one preset in the sandbox; any escape attempt, unknown field or error is a ValidationError."""
    try:
        rendered = preset_sandbox.render(template_text, context)
    except PresetLimitError as exc:
        raise PresetLimitError(exc.limit, f"refused: {exc}") from None
    except TemplateSyntaxError as exc:
        raise ValidationError(f"line {exc.lineno}: {exc.message}") from None
    except SecurityError as exc:
        raise ValidationError(f"refused by the sandbox: {exc}") from None
    except UndefinedError as exc:
        raise ValidationError(f"{exc.message}; known fields: {', '.join(sorted(SAMPLE_CONTEXT))}") from None
    except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        raise ValidationError(f"cannot render: {type(exc).__name__}: {exc}") from None
    return rendered.strip()


def validate_presets(presets: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each platform's fields must compile and render against the sample context; errors name where."""
    clean: dict[str, dict[str, Any]] = {}
    for platform, fields in presets.items():
        if platform not in PLATFORMS:
            raise ValidationError(f"preset for unknown platform {platform!r}; known: {', '.join(PLATFORMS)}")
        if not isinstance(fields, Mapping):
            raise ValidationError(f"preset {platform} must map fields ({', '.join(sorted(PRESET_FIELDS))}) to text")
        for name, value in fields.items():
            if name in PRESET_SETTINGS:
                if not isinstance(value, str | int | float | bool) and value is not None:
                    raise ValidationError(f"preset {platform}.{name}: must be a plain value")
                continue
            texts = value if name == "tags" and isinstance(value, list) else [value]
            if name not in PRESET_FIELDS or not all(isinstance(t, str) for t in texts):
                known = ", ".join(sorted(PRESET_FIELDS | PRESET_SETTINGS))
                raise ValidationError(f"preset {platform}.{name}: known fields are {known}; text fields are text")
            overrun = static_overrun(platform, name, value if name == "tags" else str(value))
            if overrun is not None:
                raise ValidationError(f"preset {platform}.{name}: {overrun}")
            for text in texts:
                try:
                    render_preset(text, SAMPLE_CONTEXT)
                except PresetLimitError as exc:
                    raise PresetLimitError(exc.limit, f"preset {platform}.{name}: {exc}") from None
                except ValidationError as exc:
                    raise ValidationError(f"preset {platform}.{name}: {exc}") from None
        clean[platform] = dict(fields)
    return clean


def render_presets(presets: Mapping[str, Mapping[str, Any]], context: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Text fields rendered, plain settings passed through: what each platform would receive."""
    return {
        platform: {name: _render_field(value, context) if name in PRESET_FIELDS else value
                   for name, value in fields.items()}
        for platform, fields in presets.items()
    }


def _render_field(value: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(value, list):
        return [render_preset(str(item), context) for item in value]
    return render_preset(str(value), context)


# rematch -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RematchSummary:
    checked: int
    changed: list[dict[str, str | None]]

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "changed": self.changed}


def rematch(session: Session, actor: Actor, user_id: str, cause: str) -> RematchSummary:
    """Re-choose the template of every recording not yet processed, after a template change.

    Three statements whatever the count: load, retarget (delete + insert of the not-yet-uploaded
    targets), audit. A changed recording's output targets follow its new template.
    """
    user_templates = list(session.scalars(select(Template).where(Template.user_id == user_id)))
    by_id = {t.id: t for t in user_templates}
    rows = list(session.scalars(select(Recording).where(
        Recording.user_id == user_id, Recording.status.in_(REMATCHABLE), Recording.deleted_at.is_(None))))
    changed: list[tuple[Recording, Template | None]] = []
    for recording in rows:
        chosen = choose(user_templates, Candidate.of_recording(recording))
        if (chosen.id if chosen else None) != recording.template_id:
            changed.append((recording, chosen))
    if changed:
        _retarget(session, changed)
    items = [
        {"recording_id": r.id, "before": by_id[r.template_id].name if r.template_id in by_id else None,
         "after": t.name if t else None}
        for r, t in changed
    ]
    for recording, chosen in changed:
        recording.template_id = chosen.id if chosen else None
        recording.updated_at = utcnow()
    audit.record(session, actor, "template.rematch", "user", user_id, user_id=user_id,
                 details={"cause": cause, "checked": len(rows), "changed": items})
    return RematchSummary(len(rows), items)


def _retarget(session: Session, changed: Sequence[tuple[Recording, Template | None]]) -> None:
    ids = [r.id for r, _ in changed]
    session.execute(delete(OutputTarget).where(
        OutputTarget.recording_id.in_(ids), OutputTarget.status == TargetStatus.NOT_UPLOADED))
    rows = [{"recording_id": r.id, "platform": p, "status": TargetStatus.NOT_UPLOADED}
            for r, t in changed for p in (t.targets if t else [])]
    if rows:
        session.execute(insert(OutputTarget), rows)


# delete --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateUsers:
    """What still refers to a template: recordings matched to it and automation jobs that run it."""

    recording_ids: list[str]
    job_names: list[str]

    def __bool__(self) -> bool:
        return bool(self.recording_ids or self.job_names)

    def describe(self) -> str:
        parts = [f"{len(self.recording_ids)} recording(s)"] if self.recording_ids else []
        parts += [f"automation job(s) {', '.join(self.job_names)}"] if self.job_names else []
        return " and ".join(parts)


def users_of(session: Session, template: Template) -> TemplateUsers:
    recording_ids = list(session.scalars(select(Recording.id).where(
        Recording.template_id == template.id, Recording.deleted_at.is_(None)).order_by(Recording.id)))
    job_names = list(session.scalars(select(AutomationJob.name).where(AutomationJob.template_id == template.id)
                                     .order_by(AutomationJob.name)))
    return TemplateUsers(recording_ids, job_names)


def delete_template(session: Session, actor: Actor, template: Template, force: bool) -> dict[str, Any]:
    """Remove a template; refused while anything uses it unless `force`.

    With force, recordings are detached (template None: they keep their targets and state, and the ones
    not processed yet are rematched against the remaining templates) and the automation jobs that run it
    are deleted with it: a job is a schedule *for* a template and has no meaning without one.
    """
    users = users_of(session, template)
    if users and not force:
        raise ValidationError(f"template {template.name!r} is used by {users.describe()}; "
                              "change them first or delete with --force to detach them")
    if users.recording_ids:
        session.execute(update(Recording).where(Recording.id.in_(users.recording_ids))
                        .values(template_id=None, updated_at=utcnow()))
    if users.job_names:
        session.execute(delete(AutomationJob).where(AutomationJob.template_id == template.id))
    report = {"id": template.id, "name": template.name, "detached_recordings": users.recording_ids,
              "deleted_automation_jobs": users.job_names}
    audit.record(session, actor, "template.delete", "template", template.id, user_id=template.user_id,
                 details={**report, "force": force})
    session.delete(template)
    session.flush()
    rematch(session, actor, template.user_id, cause=f"template {template.name} deleted")
    return report
