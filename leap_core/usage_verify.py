"""`leap admin usage verify`: recompute each user's storage and transcription from the disk and the recordings.

Why a check and not only careful bookkeeping: the counters are moved by many paths (registration, each
stage, the export, delete, archive, restore, skip) and a crash between a file operation and its commit
can leave them apart. This recomputes, per user:

- storage: what each live recording should count (its files in storage plus its export copy once it
  was downloaded; its reservation before), their sum, the user's counter, and bytes in the user's
  folders that belong to no live recording (a deleted recording whose files survived);
- transcription: per month, the sum of the recordings' one charge against the month's counter.

`fix` sets the recordings and counters to the recomputed values and removes the leftover folders of
deleted recordings (never a folder LEAP cannot name), with one `usage.fix` audit record per user.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leap_core import accounting, audit, usage
from leap_core.audit import Actor
from leap_core.config import Settings
from leap_core.db.models import ProcessingStage, QuotaUsage, Recording, User
from leap_core.stages import DOWNLOAD
from leap_core.states import IN_FLIGHT

SECONDS_TOLERANCE = 0.01


@dataclass
class UserBalance:
    user: str
    counter_bytes: int
    expected_bytes: int
    disk_bytes: int
    reserved_bytes: int
    orphaned: dict[str, int] = field(default_factory=dict)
    recordings: dict[str, dict[str, int]] = field(default_factory=dict)
    """Recording id → {"counted", "on_disk"} for each downloaded recording whose two differ."""
    transcription: dict[str, dict[str, float]] = field(default_factory=dict)
    """Period → {"counter", "charged"} for each month whose two differ."""
    fixed: bool = False

    @property
    def differences(self) -> list[str]:
        found = [f"recording {rid} counts {v['counted']} bytes, {v['on_disk']} on disk"
                 for rid, v in self.recordings.items()]
        if self.counter_bytes != self.expected_bytes:
            found.append(f"storage counter {self.counter_bytes} bytes, recordings add up to {self.expected_bytes}")
        found += [f"{path}: {size} bytes on disk belong to no live recording" for path, size in self.orphaned.items()]
        found += [f"transcription {period}: counter {v['counter']:.3f} s, recordings charged {v['charged']:.3f} s"
                  for period, v in self.transcription.items()]
        return found

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": not self.differences, "differences": self.differences}


def verify(session: Session, settings: Settings, users: list[User], *, fix: bool = False,
           actor: Actor | None = None) -> list[UserBalance]:
    return [_verify_user(session, settings, user, fix, actor) for user in users]


def _downloaded(session: Session, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    return set(session.scalars(select(ProcessingStage.recording_id).where(
        ProcessingStage.recording_id.in_(ids), ProcessingStage.stage == DOWNLOAD.name,
        ProcessingStage.status == "completed")))


def _verify_user(session: Session, settings: Settings, user: User, fix: bool, actor: Actor | None) -> UserBalance:
    if fix:
        usage.lock_user(session, user.id)
    rows = list(session.scalars(select(Recording).where(Recording.user_id == user.id)))
    live = [r for r in rows if r.deleted_at is None]
    downloaded = _downloaded(session, [r.id for r in live])
    roots = [settings.resolved_storage_dir / user.slug, settings.resolved_export_dir / user.slug]
    known: set[Path] = set()
    expected, reserved, mismatched = 0, 0, {}
    for recording in live:
        disk = accounting.recording_disk(settings, user.slug, recording)
        known |= {disk.files.root, disk.export}
        if recording.id not in downloaded or recording.status in IN_FLIGHT:
            counted = recording.storage_bytes  # a reservation, or a stage at work: taken as counted
            reserved += counted if recording.id not in downloaded else 0
        else:
            counted = disk.size_bytes()
            if counted != recording.storage_bytes:
                mismatched[recording.id] = {"counted": recording.storage_bytes, "on_disk": counted}
        expected += counted
    balance = UserBalance(
        user=user.slug, counter_bytes=usage.usage_of(session, user.id).storage_bytes, expected_bytes=expected,
        disk_bytes=sum(accounting.folder_bytes(root) for root in roots), reserved_bytes=reserved,
        orphaned=_orphaned(roots, known), recordings=mismatched,
        transcription=_transcription_differences(session, user.id, rows))
    if fix and balance.differences:
        _fix(session, user, balance, {r.id: r for r in rows}, actor)
    return balance


def _orphaned(roots: list[Path], known: set[Path]) -> dict[str, int]:
    """Folders directly under the user's storage and export roots that no live recording owns."""
    found: dict[str, int] = {}
    for root in roots:
        if not root.is_dir():
            continue
        for child in sorted(root.iterdir()):
            if child not in known and not child.name.startswith("."):
                size = accounting.folder_bytes(child) if child.is_dir() else child.stat().st_size
                found[str(child)] = size
    return found


def _transcription_differences(session: Session, user_id: str,
                               rows: list[Recording]) -> dict[str, dict[str, float]]:
    charged: dict[str, float] = {}
    for recording in rows:  # deleted recordings included: the month's transcription happened
        if recording.transcription_s is not None and recording.transcription_period:
            period = recording.transcription_period
            charged[period] = charged.get(period, 0.0) + recording.transcription_s
    counters = dict(session.execute(select(QuotaUsage.period, QuotaUsage.transcription_seconds)
                                    .where(QuotaUsage.user_id == user_id)).tuples().all())
    differences = {}
    for period in sorted(set(charged) | set(counters)):
        counter, expected = float(counters.get(period, 0.0)), round(charged.get(period, 0.0), 3)
        if abs(counter - expected) > SECONDS_TOLERANCE * max(1, len(rows)):
            differences[period] = {"counter": round(counter, 3), "charged": expected}
    return differences


def _fix(session: Session, user: User, balance: UserBalance, rows: dict[str, Recording],
         actor: Actor | None) -> None:
    """Recordings to their disk, the storage counter to their sum, each month's seconds to its charges."""
    for recording_id, values in balance.recordings.items():
        session.execute(update(Recording).where(Recording.id == recording_id)
                        .values(storage_bytes=values["on_disk"], version=Recording.version + 1)
                        .execution_options(synchronize_session=False))
        session.expire(rows[recording_id])
    period = usage.add_storage(session, user.id, 0).period  # opens this month's row, carrying storage over
    session.execute(update(QuotaUsage).where(QuotaUsage.user_id == user.id, QuotaUsage.period == period)
                    .values(storage_bytes=balance.expected_bytes).execution_options(synchronize_session=False))
    for month, seconds in balance.transcription.items():
        if session.scalar(select(QuotaUsage.id).where(QuotaUsage.user_id == user.id, QuotaUsage.period == month)):
            session.execute(update(QuotaUsage).where(QuotaUsage.user_id == user.id, QuotaUsage.period == month)
                            .values(transcription_seconds=seconds["charged"])
                            .execution_options(synchronize_session=False))
    deleted = {r.id for r in rows.values() if r.deleted_at is not None}
    removed = [path for path in balance.orphaned if Path(path).name in deleted]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    if actor is not None:
        audit.record(session, actor, "usage.fix", "user", user.id, user_id=user.id, details={
            "before": {"storage_bytes": balance.counter_bytes,
                       "transcription": {m: v["counter"] for m, v in balance.transcription.items()},
                       "recordings": {rid: v["counted"] for rid, v in balance.recordings.items()}},
            "after": {"storage_bytes": balance.expected_bytes,
                      "transcription": {m: v["charged"] for m, v in balance.transcription.items()},
                      "recordings": {rid: v["on_disk"] for rid, v in balance.recordings.items()}},
            "removed_folders": len(removed)})
    balance.fixed = True

