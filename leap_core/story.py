"""One recording's story as an operator reads it: its state, where it stopped and why, where it went.

The Dagster UI knows runs and materialisations; LEAP knows that a recording was skipped as blank, or
failed at download because the user's `Lecture 3.mp4` is truncated. This module puts LEAP's side into
words once, so the orchestrator can attach it to each asset partition and the CLI can print the same.
Messages from the media stack name the internal files (`source.mp4`, `trimmed.mp4`); `in_users_words`
turns those into the file name the user knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from leap_core.db.models import OutputTarget, ProcessingStage, Recording
from leap_core.errors import NotFoundError
from leap_core.states import RecordingStatus, TargetStatus

SKIP_WORDS = {
    "blank": "blank recording",
    "source_deleted": "the file disappeared from its source before it was complete",
    "source_timeout": "the file never became complete at its source",
}
"""What each stored skip reason means; a reason given by hand (`leap recordings skip`) is shown as it is."""

_INTERNAL = re.compile(r"(?<![\w./-])(?:[\w./-]*/)?(source|trimmed)\.(\w{1,8})\b")
"""`source.mp4`, `trimmed.m4a`, or either behind a storage path."""


def in_users_words(message: str, source_name: str) -> str:
    """The message with LEAP's internal file names replaced by the file name the user gave."""
    def name(match: re.Match[str]) -> str:
        return f"'{source_name}'" if match.group(1) == "source" else f"the trimmed copy of '{source_name}'"

    return _INTERNAL.sub(name, message)


@dataclass(frozen=True)
class TargetLine:
    platform: str
    status: str
    url: str | None
    error: str | None


@dataclass(frozen=True)
class Story:
    recording_id: str
    partition_key: str
    title: str
    source_name: str
    state: str
    failed_stage: str | None = None
    reason: str | None = None
    retry_count: int = 0
    targets: list[TargetLine] = field(default_factory=list)
    review_reason: str | None = None
    """Why the recording waits for its owner's review before publishing (leap_core.review)."""

    @property
    def headline(self) -> str:
        """One line: what the operator needs first."""
        if self.state == RecordingStatus.SKIPPED and self.reason:
            return f"SKIPPED: {self.reason}"
        if self.state == RecordingStatus.FAILED:
            return f"FAILED at {self.failed_stage or 'an unknown stage'}: {self.reason or 'no reason recorded'}"
        if self.review_reason:
            return f"{self.state}, held for review: {self.review_reason}"
        return self.state

    def metadata(self) -> dict[str, Any]:
        """Plain values under `leap/…` keys; the Dagster layer wraps them (markdown, URLs)."""
        published = {t.platform: t.url for t in self.targets if t.url and t.status == TargetStatus.UPLOADED}
        return {
            "leap/state": self.state, "leap/headline": self.headline, "leap/file": self.source_name,
            "leap/recording": self.recording_id,
            **({"leap/failed_stage": self.failed_stage} if self.failed_stage else {}),
            **({"leap/reason": self.reason} if self.reason else {}),
            **({"leap/review": self.review_reason} if self.review_reason else {}),
            **{f"leap/url/{platform}": url for platform, url in published.items()},
            "leap/story_md": self.markdown(),
        }

    def markdown(self) -> str:
        lines = [f"**{_md(self.title)}** — `{_md(self.source_name)}`", "", "| | |", "|---|---|",
                 f"| state | **{self.state}** |"]
        if self.failed_stage:
            lines.append(f"| failed at | {self.failed_stage} |")
        if self.reason:
            label = "why skipped" if self.state == RecordingStatus.SKIPPED else "why"
            lines.append(f"| {label} | {_md(self.reason)} |")
        if self.review_reason:
            lines.append(f"| held for review | {_md(self.review_reason)} |")
        if self.retry_count:
            lines.append(f"| retries | {self.retry_count} |")
        lines.append(f"| recording | `{self.recording_id}` |")
        for target in self.targets:
            where = f"[{_md(target.url)}]({target.url})" if target.url else ""
            note = f" — {_md(target.error)}" if target.error and target.status != TargetStatus.UPLOADED else ""
            lines.append(f"| {target.platform} | {target.status} {where}{note} |")
        runs = f"/runs?q%5B0%5D={quote(f'tag:dagster/partition={self.partition_key}', safe='')}"
        lines += ["", f"[All runs of this recording]({runs})"]
        return "\n".join(lines)


def _md(text: str) -> str:
    """Safe inside a Markdown table cell: no pipes or line breaks from user text."""
    return text.replace("|", "\\|").replace("\n", " ")


def skip_words(recording: Recording, skipped_row: ProcessingStage | None) -> str | None:
    if recording.skip_reason is None:
        return None
    words = SKIP_WORDS.get(recording.skip_reason, recording.skip_reason)
    detail = (skipped_row.details or {}).get("method_reason") if skipped_row is not None else None
    return f"{words} ({detail})" if detail else words


def tell(session: Session, recording_id: str) -> Story:
    """The story of one recording now, from its row, its last stage rows and its targets (three queries)."""
    recording = session.get(Recording, recording_id)
    if recording is None:
        raise NotFoundError(f"recording not found: {recording_id}")
    targets = list(session.scalars(select(OutputTarget).where(OutputTarget.recording_id == recording_id)
                                   .order_by(OutputTarget.platform)))
    skipped_row = session.scalar(select(ProcessingStage).where(
        ProcessingStage.recording_id == recording_id, ProcessingStage.status == "skipped")
        .order_by(ProcessingStage.id.desc()).limit(1)) if recording.status is RecordingStatus.SKIPPED else None
    failed = recording.status is RecordingStatus.FAILED
    reason = (in_users_words(recording.error_message or "", recording.source_name) or None) if failed \
        else skip_words(recording, skipped_row)
    return Story(
        recording_id=recording.id, partition_key=recording.partition_key, title=recording.title,
        source_name=recording.source_name, state=recording.status.value,
        failed_stage=recording.failed_at_stage if failed else None, reason=reason,
        retry_count=recording.retry_count, review_reason=recording.review_reason,
        targets=[TargetLine(t.platform, t.status.value, t.url,
                            in_users_words(t.error_message, recording.source_name) if t.error_message else None)
                 for t in targets],
    )
