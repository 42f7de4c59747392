"""`leap templates …`: which recordings a template claims and what is done with them."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from leap_core.cli import context
from leap_core.cli.output import JsonOption, emit
from leap_core.errors import ValidationError
from leap_core.speech.glossary import parse_glossary_file

app = typer.Typer(help="What happens to matching recordings.", no_args_is_help=True)
COLUMNS = ["id", "name", "priority", "process_on_arrival", "exclude_blank", "targets", "rules"]


def _presets(path: Path | None) -> dict[str, Any] | None:
    """Presets come from a JSON file: multi-line Jinja text does not fit on a command line."""
    return _json_object(path, "{platform: {title, description, tags}}")


def _json_object(path: Path | None, shape: str = "{...}") -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError(f"cannot read {path}: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{path} must hold a JSON object: {shape}")
    return data


ReviewOption = typer.Option(None, "--review", help="Hold recordings for your review before publishing: off, "
                                                   "flagged (unsure cues or an integrity repair) or always.")
ReviewConfidenceOption = typer.Option(None, help="--review flagged: a cue below this confidence (0-1) is unsure.")
ReviewLowCuesOption = typer.Option(None, help="--review flagged: unsure cues allowed before holding.")


@app.command("add")
def add(
    name: str,
    target: list[str] = typer.Option(["local"], "--target", help="local, youtube or vk; repeat for several."),
    process_on_arrival: bool = typer.Option(True, "--process-on-arrival/--wait-for-job"),
    priority: int = typer.Option(0, help="When several templates match, the highest priority wins."),
    source: list[str] = typer.Option([], "--source", help="Only recordings of this source id; repeat."),
    name_glob: str | None = typer.Option(None, help="Only files whose name matches this glob."),
    name_regex: str | None = typer.Option(None, help="Only files whose name matches this regular expression."),
    min_duration: float | None = typer.Option(None, help="Minimum duration in seconds."),
    max_duration: float | None = typer.Option(None, help="Maximum duration in seconds."),
    weekday: list[int] = typer.Option([], "--weekday", help="ISO weekday the recording was made (1 = Monday); repeat."),
    time_from: str | None = typer.Option(None, help="Recorded at or after HH:MM …"),
    time_to: str | None = typer.Option(None, help="… and before HH:MM (may wrap midnight)."),
    timezone: str | None = typer.Option(None, help="Timezone of --weekday/--time-*, e.g. Europe/Berlin."),
    exclude_blank: bool = typer.Option(True, "--exclude-blank/--keep-blank"),
    language: str | None = typer.Option(None, help="Spoken language: a code (en, ru, ...) or auto."),
    presets: Path | None = typer.Option(None, help="JSON file: {platform: {title, description, tags}} (Jinja)."),
    retention_days: int | None = typer.Option(None, help="Archive published recordings after this many days."),
    delete_zoom_copy: bool = typer.Option(False, "--delete-zoom-copy",
                                          help="Move the Zoom cloud recording to Zoom's trash once downloaded."),
    review: str | None = ReviewOption, review_min_confidence: float | None = ReviewConfidenceOption,
    review_max_low_cues: int | None = ReviewLowCuesOption,
    as_json: bool = JsonOption,
) -> None:
    """Save a template; recordings not processed yet are rematched against all your templates."""
    rules = {"source_ids": source, "name_glob": name_glob, "name_regex": name_regex, "min_duration_s": min_duration,
             "max_duration_s": max_duration, "weekdays": weekday, "time_from": time_from, "time_to": time_to,
             "timezone": timezone}
    emit(context.me().templates_api.add(
        name, targets=target, process_on_arrival=process_on_arrival, priority=priority,
        rules={k: v for k, v in rules.items() if v not in (None, [])}, presets=_presets(presets),
        exclude_blank=exclude_blank, language=language, retention=_retention(retention_days, delete_zoom_copy),
        review=_review(review, review_min_confidence, review_max_low_cues)),
        as_json, COLUMNS)


def _review(mode: str | None, min_confidence: float | None, max_low_cues: int | None) -> dict[str, Any] | None:
    """The review settings given on the command line (the others keep their defaults), or None for none."""
    given = {"mode": mode, "min_confidence": min_confidence, "max_low_cues": max_low_cues}
    chosen = {key: value for key, value in given.items() if value is not None}
    return chosen or None


def _retention(days: int | None, delete_zoom_copy: bool) -> dict[str, object]:
    policy: dict[str, object] = {} if days is None else {"days": days}
    return {**policy, "delete_source_after_download": True} if delete_zoom_copy else policy


MAX_GLOSSARY_FILE = 256 << 10


def _glossary(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        if path.stat().st_size > MAX_GLOSSARY_FILE:
            raise ValidationError(f"{path} is larger than {MAX_GLOSSARY_FILE >> 10} KiB; a glossary holds at most "
                                  "500 terms")
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise ValidationError(f"cannot read {path}: {type(exc).__name__}") from None
    return parse_glossary_file(text)


@app.command("update")
def update(
    template: str,
    target: list[str] = typer.Option([], "--target", help="Replace the targets: local, youtube or vk; repeat."),
    process_on_arrival: bool | None = typer.Option(None, "--process-on-arrival/--wait-for-job"),
    priority: int | None = typer.Option(None, help="When several templates match, the highest priority wins."),
    exclude_blank: bool | None = typer.Option(None, "--exclude-blank/--keep-blank"),
    language: str | None = typer.Option(None, help="Spoken language: a code (en, ru, ...) or auto."),
    rules: Path | None = typer.Option(None, help="JSON file replacing the matching rules (see `templates show`)."),
    presets: Path | None = typer.Option(None, help="JSON file replacing the presets: {platform: {...}} (Jinja)."),
    trim: Path | None = typer.Option(None, help="JSON file replacing the trim settings."),
    retention: Path | None = typer.Option(None, help="JSON file replacing the retention policy."),
    glossary: Path | None = typer.Option(None, help="Course glossary: JSON {terms: [...]} or one term a line, "
                                                    "'Term | sounds like | ...'; an empty file clears it."),
    review: str | None = ReviewOption, review_min_confidence: float | None = ReviewConfidenceOption,
    review_max_low_cues: int | None = ReviewLowCuesOption,
    as_json: bool = JsonOption,
) -> None:
    """Change only the given fields; recordings not processed yet are rematched against all your templates."""
    changes: dict[str, Any] = {
        "targets": target or None, "process_on_arrival": process_on_arrival, "priority": priority,
        "exclude_blank": exclude_blank, "language": language,
        "rules": _json_object(rules), "presets": _json_object(presets), "trim": _json_object(trim),
        "retention": _json_object(retention), "glossary": _glossary(glossary),
        "review": _review(review, review_min_confidence, review_max_low_cues),
    }
    given = {key: value for key, value in changes.items() if value is not None}
    if not given:
        raise typer.BadParameter("nothing to change: give at least one option")
    emit(context.me().templates_api.update(template, **given), as_json, COLUMNS)


@app.command("delete")
def delete(
    template: str,
    force: bool = typer.Option(False, "--force", help="Detach the recordings that use it and delete its "
                                                      "automation jobs instead of refusing."),
    as_json: bool = JsonOption,
) -> None:
    """Delete a template; refused while recordings or automation jobs use it (unless --force)."""
    emit(context.me().templates_api.delete(template, force=force), as_json)


@app.command("list")
def list_templates(as_json: bool = JsonOption) -> None:
    emit(context.me().templates_api.list(), as_json, COLUMNS)


@app.command("show")
def show(template: str, as_json: bool = JsonOption) -> None:
    emit(context.me().templates_api.show(template), as_json)


@app.command("test")
def test(
    file_name: str,
    source: str | None = typer.Option(None, help="The source name or id the file would come from."),
    duration: float | None = typer.Option(None, help="Its duration in seconds."),
    recorded_at: datetime | None = typer.Option(None, help="When it was recorded (ISO, UTC unless an offset)."),
    as_json: bool = JsonOption,
) -> None:
    """Which template would claim such a file, and its presets rendered for it."""
    emit(context.me().templates_api.test(file_name, source=source, duration_s=duration, recorded_at=recorded_at),
         as_json)


@app.command("rematch")
def rematch(as_json: bool = JsonOption) -> None:
    """Re-choose the template of every recording not processed yet."""
    emit(context.me().templates_api.rematch(), as_json)
