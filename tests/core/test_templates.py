"""Templates: matching rules, safe regexes, sandboxed presets, and rematch of waiting recordings."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from leap_core import templates
from leap_core.api import UserAPI
from leap_core.db.models import OutputTarget, Recording
from leap_core.errors import ValidationError
from leap_core.templates import Candidate, matches, render_preset, validate_presets, validate_rules
from tests.support.builders import register_many
from tests.support.cli import leap as run_leap

MONDAY_10_UTC = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)
SUNDAY_23_UTC = datetime(2024, 3, 3, 23, 30, tzinfo=UTC)


def candidate(name: str = "Linear algebra 3.mp4", duration_s: float | None = 3600.0,
              recorded_at: datetime | None = MONDAY_10_UTC, source_id: str | None = "src-1") -> Candidate:
    return Candidate(source_id, name, duration_s, recorded_at)


MATCHING_TABLE: list[tuple[str, dict[str, Any], Candidate, bool]] = [
    ("no rules match everything", {}, candidate(), True),
    ("a listed source matches", {"source_ids": ["src-1", "src-2"]}, candidate(), True),
    ("an unlisted source does not", {"source_ids": ["src-2"]}, candidate(), False),
    ("a glob matches case-insensitively", {"name_glob": "linear*"}, candidate(), True),
    ("a glob must match the whole name", {"name_glob": "algebra"}, candidate(), False),
    ("a regex searches the name", {"name_regex": r"lecture|algebra \d+"}, candidate(), True),
    ("a regex that finds nothing", {"name_regex": r"^physics"}, candidate(), False),
    ("inside the duration range", {"min_duration_s": 600, "max_duration_s": 7200}, candidate(), True),
    ("too short", {"min_duration_s": 4000}, candidate(), False),
    ("too long", {"max_duration_s": 1800}, candidate(), False),
    ("an unknown duration is not excluded", {"min_duration_s": 4000}, candidate(duration_s=None), True),
    ("on a listed weekday", {"weekdays": [1, 3]}, candidate(), True),
    ("on another weekday", {"weekdays": [2]}, candidate(), False),
    ("inside the time window", {"time_from": "09:00", "time_to": "12:00"}, candidate(), True),
    ("outside the time window", {"time_from": "12:00", "time_to": "18:00"}, candidate(), False),
    ("a window wrapping midnight", {"time_from": "22:00", "time_to": "02:00"}, candidate(recorded_at=SUNDAY_23_UTC),
     True),
    ("weekday read in the rule's timezone (Sunday 23:30 UTC is Monday in Berlin)",
     {"weekdays": [1], "timezone": "Europe/Berlin"}, candidate(recorded_at=SUNDAY_23_UTC), True),
    ("the same instant is Sunday in UTC", {"weekdays": [1]}, candidate(recorded_at=SUNDAY_23_UTC), False),
    ("all rules together", {"source_ids": ["src-1"], "name_glob": "*.mp4", "min_duration_s": 60,
                            "weekdays": [1], "time_from": "08:00", "time_to": "11:00"}, candidate(), True),
]


@pytest.mark.parametrize(("case", "rules", "file", "expected"), MATCHING_TABLE, ids=[c[0] for c in MATCHING_TABLE])
def test_matching_rules_table(case: str, rules: dict[str, Any], file: Candidate, expected: bool) -> None:
    assert matches(validate_rules(rules), file) is expected, case


@pytest.mark.parametrize(("rules", "message"), [
    ({"name_pattern": "x"}, "unknown rule"),
    ({"name_regex": "(unclosed"}, "not a valid regular expression"),
    ({"min_duration_s": -1}, "≥ 0"),
    ({"min_duration_s": 100, "max_duration_s": 10}, "larger than"),
    ({"weekdays": [0]}, "ISO"),
    ({"time_from": "25:00", "time_to": "26:00"}, "HH:MM"),
    ({"time_from": "09:00"}, "both"),
    ({"timezone": "Mars/Olympus"}, "unknown timezone"),
])
def test_bad_rules_are_rejected_with_the_reason(rules: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_rules(rules)


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(\w*)*x", r"(x{1,9}){2,}y", "a" * 300])
def test_catastrophic_or_oversized_regexes_are_rejected_at_save(pattern: str) -> None:
    with pytest.raises(ValidationError, match="name_regex"):
        validate_rules({"name_regex": pattern})


def test_a_slow_regex_that_slips_past_the_guard_is_cut_off_and_does_not_match() -> None:
    # Alternation overlap backtracks exponentially without nesting a quantifier inside a quantifier's body.
    evil = r"^(a|a)*$"
    validate_rules({"name_regex": evil})
    started = time.perf_counter()
    result = matches({"name_regex": evil}, candidate(name="a" * 40 + "!"))
    assert result is False
    assert time.perf_counter() - started < 5  # bounded by the timeout, not by the pattern


def test_the_highest_priority_matching_template_wins_and_ties_go_to_the_oldest(alice: UserAPI) -> None:
    alice.add_template("catch-all", targets=["local"])
    alice.add_template("algebra", targets=["local"], priority=5, rules={"name_glob": "*algebra*"})
    alice.add_template("algebra-too", targets=["local"], priority=5, rules={"name_glob": "*algebra*"})
    result = alice.templates_api.test("Linear algebra 3.mp4")
    assert result["template"] == "algebra"
    assert alice.templates_api.test("Physics 1.mp4")["template"] == "catch-all"


# presets -------------------------------------------------------------------------------------------

def test_a_preset_renders_recording_fields_date_topics_and_chapters() -> None:
    text = ("{{ title }} ({{ date }})\n{% for c in chapters %}{{ c.timestamp }} {{ c.title }}\n{% endfor %}"
            "Topics: {{ topics | join(', ') }}")
    rendered = render_preset(text, templates.SAMPLE_CONTEXT)
    assert rendered.startswith("Linear algebra, lecture 3 (2024-03-04)")
    assert "0:00 Introduction" in rendered
    assert rendered.endswith("Topics: eigenvalues, diagonalisation")


@pytest.mark.parametrize("escape", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ title.__class__.__init__.__globals__ }}",
    "{{ recorded_at.__class__.__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ topics.append.__self__.__class__ }}",
    "{{ 'x' * 100000000 }}",
    "{{ 9 ** 99999999 }}",
    "{% for i in range(10**9) %}x{% endfor %}",
])
def test_sandbox_escape_and_resource_exhaustion_attempts_are_refused(escape: str) -> None:
    with pytest.raises(ValidationError):
        render_preset(escape, templates.SAMPLE_CONTEXT)


def test_a_preset_with_a_syntax_error_is_rejected_at_save_with_its_line_and_reason(alice: UserAPI) -> None:
    presets = {"youtube": {"title": "{{ title }}", "description": "line one\n{% for t in topics %}\n{{ t }"}}
    with pytest.raises(ValidationError, match=r"preset youtube\.description: line 3: .+"):
        alice.templates_api.add("broken", targets=["youtube"], presets=presets)
    assert alice.templates() == []


def test_a_preset_naming_an_unknown_field_is_rejected_at_save() -> None:
    with pytest.raises(ValidationError, match="'speaker' is undefined"):
        validate_presets({"vk": {"title": "{{ speaker }}"}})


def test_presets_for_an_unknown_platform_are_rejected() -> None:
    with pytest.raises(ValidationError, match="unknown platform"):
        validate_presets({"tiktok": {"title": "{{ title }}"}})


def test_template_test_renders_the_matching_templates_presets_for_the_file(alice: UserAPI) -> None:
    alice.templates_api.add("lectures", targets=["youtube"],
                            presets={"youtube": {"title": "{{ title }} · {{ date }}"}})
    result = alice.templates_api.test("Algebra 4.mp4", recorded_at=datetime(2024, 5, 6, 9, tzinfo=UTC))
    assert result == {"template": "lectures", "presets": {"youtube": {"title": "Algebra 4 · 2024-05-06"}}}


# rematch -------------------------------------------------------------------------------------------

def test_changing_a_template_rematches_waiting_recordings_and_their_targets(alice: UserAPI, tmp_path: Path) -> None:
    alice.add_local_source("inbox", tmp_path / "inbox")
    alice.add_template("general", targets=["local"], process_on_arrival=False)
    waiting = register_many(alice, 3)
    alice.templates_api.add("published", targets=["youtube", "vk"], priority=10, process_on_arrival=False,
                            rules={"name_glob": "lecture 1*"})
    with alice.leap.db.session() as session:
        rows = {r.id: r for r in session.scalars(select(Recording).where(Recording.id.in_(waiting)))}
        lecture_1 = next(r for r in rows.values() if r.source_name == "Lecture 1.mp4")
        targets = set(session.scalars(select(OutputTarget.platform).where(OutputTarget.recording_id == lecture_1.id)))
    assert targets == {"youtube", "vk"}
    names = {alice.templates_api.show(r.template_id or "")["name"] for r in rows.values() if r.id != lecture_1.id}
    assert names == {"general"}

    alice.templates_api.update("published", rules={"name_glob": "nothing*"})
    assert alice.recording(lecture_1.id)["template_id"] == alice.templates_api.show("general")["id"]
    entries = alice.activity(action="template.rematch")
    assert entries[0]["details"]["changed"] == [
        {"recording_id": lecture_1.id, "before": "published", "after": "general"}]


def test_the_preset_context_carries_a_recordings_fields_topics_and_chapters() -> None:
    recording = Recording(title="Algebra 4", source_name="Algebra 4.mp4", duration_s=3000.0,
                          recorded_at=datetime(2024, 5, 6, 9, tzinfo=UTC))
    context = templates.preset_context(recording, "alice", ["matrices"], [{"start": 75.0, "title": "Inverse"}],
                                       "About inverses.")
    text = "{{ title }} {{ date }} {{ duration_min }} min by {{ user }}: {{ chapters[0].timestamp }} {{ summary }}"
    assert render_preset(text, context) == "Algebra 4 2024-05-06 50 min by alice: 1:15 About inverses."


@pytest.mark.usefixtures("cli_env")
def test_the_cli_rejects_a_broken_preset_file_with_its_line(tmp_path: Path) -> None:
    run_leap("init")
    presets = tmp_path / "presets.json"
    presets.write_text('{"vk": {"title": "{{ title }}", "description": "a\\n{{ date "}}')
    code, _, err = run_leap("templates", "add", "lectures", "--target", "vk", "--presets", str(presets))
    assert code == 1
    assert err.startswith("error: preset vk.description: line 2:")
    code, out, _ = run_leap("templates", "test", "Lecture 1.mp4", "--json")
    assert code == 0 and json.loads(out)["template"] == "inbox"


def test_a_bad_trim_setting_is_refused_at_save_and_the_refusal_is_audited(alice: UserAPI) -> None:
    alice.add_template("lectures", targets=["local"], trim={"loudness": "off"})

    with pytest.raises(ValidationError, match="trim setting loudness_target_lufs"):
        alice.templates_api.update("lectures", trim={"loudness_target_lufs": 3})

    (saved,) = alice.templates()
    assert saved["trim"] == {"loudness": "off"}
    refusals = [e for e in alice.activity() if e["result"] == "refused"]
    assert "loudness_target_lufs" in refusals[-1]["details"]["reason"]
