"""`leap recordings …` and `leap audit list`: the user's own recordings and activity."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from leap_core.cli import context
from leap_core.cli.output import JsonOption, emit
from leap_core.states import RecordingStatus

recordings_app = typer.Typer(help="Your recordings.", no_args_is_help=True)
audit_app = typer.Typer(help="Your activity log.", no_args_is_help=True)

COLUMNS = ["id", "partition_key", "status", "failed_at_stage", "skip_reason", "retry_count", "error"]


def register(app: typer.Typer) -> None:
    app.add_typer(recordings_app, name="recordings")
    app.add_typer(audit_app, name="audit")


@recordings_app.command("list")
def list_recordings(
    status: RecordingStatus | None = typer.Option(None, case_sensitive=False),
    limit: int = typer.Option(100),
    as_json: bool = JsonOption,
) -> None:
    emit(context.me().recordings(status=status, limit=limit), as_json, COLUMNS)


@recordings_app.command("show")
def show(recording_id: str, as_json: bool = JsonOption) -> None:
    emit(context.me().recording(recording_id), as_json)


@recordings_app.command("stages")
def stages(recording_id: str, as_json: bool = JsonOption) -> None:
    emit(context.me().stages(recording_id), as_json, ["stage", "status", "started_at", "elapsed_s", "error"])


SourceOption = typer.Option(None, "--source", help="Only recordings from this source (name or id).")
TemplateOption = typer.Option(None, "--template", help="Only recordings matched to this template (name or id).")
DryRunOption = typer.Option(False, "--dry-run", help="Report what would happen; change nothing.")


def _chosen(
    ids: list[str] | None, status: RecordingStatus | None, source: str | None, template: str | None
) -> list[str]:
    """Explicit ids, or everything the selectors match; refusing to guess when neither is given."""
    if ids:
        return ids
    if status is None and source is None and template is None:
        raise typer.BadParameter("give recording ids or a selector (--all-failed, --source, --template)")
    return context.me().select(status=status, source=source, template=template)


def _report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit(report, as_json)
        return
    done = "dry-run: would do" if report["dry_run"] else "done"
    rows = [{"recording": i, "result": done} for i in report["done"]]
    rows += [{"recording": i, "result": reason} for i, reason in report["refused"].items()]
    emit(rows, False, ["recording", "result"])


@recordings_app.command("process")
def process(
    recording_ids: list[str] | None = typer.Argument(None),
    source: str | None = SourceOption, template: str | None = TemplateOption,
    dry_run: bool = DryRunOption, as_json: bool = JsonOption,
) -> None:
    """Process INITIALIZED recordings now (e.g. of a template that waits for its automation job)."""
    ids = _chosen(recording_ids, RecordingStatus.INITIALIZED if not recording_ids else None, source, template)
    _report(context.me().process(ids, dry_run), as_json)


@recordings_app.command("skip")
def skip(
    recording_ids: list[str] = typer.Argument(...),
    reason: str = typer.Option("user", help="Recorded with the skip."),
    dry_run: bool = DryRunOption, as_json: bool = JsonOption,
) -> None:
    """Never process these INITIALIZED or PENDING_SOURCE recordings."""
    _report(context.me().skip(recording_ids, reason, dry_run), as_json)


@recordings_app.command("retry")
def retry(
    recording_ids: list[str] | None = typer.Argument(None),
    all_failed: bool = typer.Option(False, "--all-failed", help="Every FAILED recording (with the selectors)."),
    failed_uploads: bool = typer.Option(False, "--failed-uploads", help="Every FAILED upload target of yours."),
    source: str | None = SourceOption, template: str | None = TemplateOption,
    dry_run: bool = DryRunOption, as_json: bool = JsonOption,
) -> None:
    """Continue FAILED recordings from the stage that failed (only failed targets are re-uploaded)."""
    if failed_uploads:
        _report(context.me().retry_failed_uploads(dry_run), as_json)
        return
    ids = _chosen(recording_ids, RecordingStatus.FAILED if all_failed else None, source, template)
    if not ids:  # the selectors matched nothing: say so, and succeed (there was nothing to do)
        if as_json:
            emit([], True)
        else:
            typer.echo("nothing to retry: no FAILED recordings match", err=True)
        return
    if dry_run:
        _report({"action": "recording.retry", "dry_run": True, "done": ids, "refused": {}}, as_json)
        return
    emit(context.me().retry(ids), as_json, ["recording_id", "first_stage"])


@recordings_app.command("delete")
def delete(
    recording_id: str,
    unpublish: bool = typer.Option(False, "--unpublish", help="Also delete the published videos on the platforms."),
    force: bool = typer.Option(False, "--force", help="With --unpublish: delete even if a take-down failed "
                               "(the video stays on that platform)."),
    dry_run: bool = DryRunOption, as_json: bool = JsonOption,
) -> None:
    """Remove the files and the partition; the row stays as deleted, with its history and audit.

    With --unpublish, a platform that refuses the take-down keeps the recording (exit code 1, the reason
    on its target): run the same command again to retry the failed take-downs, or add --force.
    """
    report = context.me().delete(recording_id, dry_run, unpublish, force)
    _report(report, as_json)
    if not as_json and report["unpublished"]:
        emit(report["unpublished"], False, ["platform", "video_id", "result", "error"])
    if report["refused"]:
        raise typer.Exit(1)


@recordings_app.command("republish")
def republish(recording_ids: list[str], as_json: bool = JsonOption) -> None:
    """Update published videos' metadata and captions (after a reprocess); never uploads a second copy."""
    emit(context.me().republish(recording_ids), as_json, ["recording_id", "platform", "video_id", "result", "error"])


@recordings_app.command("review")
def review(recording_id: str, as_json: bool = JsonOption) -> None:
    """Whether the recording is held for review, why, and the cues to read (unsure or re-transcribed)."""
    found = context.me().review(recording_id)
    if as_json:
        emit(found, True)
        return
    held = f"held for review: {found['reason']}" if found["held"] else "not held"
    typer.echo(f"{found['recording_id']} {found['status']}, {held}{' (edited)' if found['edited'] else ''}")
    emit(found["cues"], False, ["start", "end", "confidence", "why", "text"])


@recordings_app.command("approve")
def approve(recording_ids: list[str], dry_run: bool = DryRunOption, as_json: bool = JsonOption) -> None:
    """Publish recordings held for review (each gets a run to its template's targets)."""
    report = context.me().approve(recording_ids, dry_run)
    _report(report, as_json)
    if report["refused"]:
        raise typer.Exit(1)


@recordings_app.command("edit")
def edit(
    recording_id: str,
    corrected: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                     help="The corrected transcript: .srt, .vtt or .json (segments)."),
    as_json: bool = JsonOption,
) -> None:
    """Replace the transcript with a corrected file; chapters and subtitles are rebuilt from it by a run.

    A held recording stays held until `approve`; a published one gets its captions and chapters refreshed.
    """
    emit(context.me().edit(recording_id, corrected.read_bytes(), corrected.name), as_json)


@recordings_app.command("reset")
def reset(recording_id: str, as_json: bool = JsonOption) -> None:
    """Return a FAILED, SKIPPED or UPLOADED recording to INITIALIZED (audited)."""
    emit(context.me().reset(recording_id), as_json)


@audit_app.command("list")
def audit_list(
    action: str | None = typer.Option(None, help="e.g. recording.retry, or recording.* for a family."),
    since: datetime | None = typer.Option(None),
    until: datetime | None = typer.Option(None),
    limit: int = typer.Option(100),
    as_json: bool = JsonOption,
) -> None:
    emit(context.me().activity(action, since, until, limit), as_json,
         ["ts", "actor", "operator", "action", "resource_type", "resource_id", "result", "origin"])
