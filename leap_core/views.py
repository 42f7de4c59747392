"""Plain-dict views of rows: what the CLI prints and the Python API returns to callers who want data."""

from __future__ import annotations

from typing import Any

from leap_core.db.models import OutputTarget, ProcessingStage, Recording, Source, Template, User
from leap_core.states import RecordingStatus
from leap_core.story import in_users_words


def recording(r: Recording, targets: list[OutputTarget] | None = None) -> dict[str, Any]:
    """The failed stage only while the recording is FAILED: the row keeps the stage after a retry (the
    retry starts from it), and a recording done since must not read as failed somewhere."""
    failed = r.status is RecordingStatus.FAILED
    view: dict[str, Any] = {
        "id": r.id, "partition_key": r.partition_key, "title": r.title, "status": r.status.value,
        "failed_at_stage": r.failed_at_stage if failed else None, "retry_count": r.retry_count,
        "error": in_users_words(r.error_message, r.source_name) if r.error_message else None,
        "skip_reason": r.skip_reason, "duration_s": r.duration_s, "recorded_at": r.recorded_at,
        "created_at": r.created_at, "source_name": r.source_name, "template_id": r.template_id,
        "archived_at": r.archived_at, "review_reason": r.review_reason, "review_held_at": r.review_held_at,
    }
    if targets is not None:
        view["targets"] = [
            {"platform": t.platform, "status": t.status.value, "video_id": t.video_id, "url": t.url,
             "retry_after": t.retry_after, "error": t.error_message, "takedown_error": t.takedown_error}
            for t in targets
        ]
    return view


def stage(s: ProcessingStage) -> dict[str, Any]:
    elapsed = (s.completed_at - s.started_at).total_seconds() if s.completed_at else None
    return {"stage": s.stage, "status": s.status, "started_at": s.started_at, "completed_at": s.completed_at,
            "elapsed_s": round(elapsed, 2) if elapsed is not None else None, "error": s.error, "run_id": s.run_id}


def user(u: User) -> dict[str, Any]:
    return {"id": u.id, "slug": u.slug, "email": u.email, "role": u.role, "created_at": u.created_at}


def source(s: Source) -> dict[str, Any]:
    return {"id": s.id, "name": s.name, "kind": s.kind, "enabled": s.enabled,
            "path": s.config.get("path"), "last_synced_at": s.last_synced_at, "last_error": s.last_error}


def template(t: Template) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "priority": t.priority, "process_on_arrival": t.process_on_arrival,
            "targets": list(t.targets), "rules": t.rules, "trim": t.trim, "retention": t.retention or {}}
