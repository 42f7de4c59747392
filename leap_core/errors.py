"""Typed errors LEAP raises on purpose.

Every error a user can cause is a `LeapError`: the CLI prints its message on one line and exits 1, the
Dagster assets turn it into a failed step with that message, and nothing else (no traceback) reaches the
user. Anything that is not a `LeapError` is a bug.
"""

from __future__ import annotations


class LeapError(Exception):
    """A refused action or bad input, with a message meant for the person who asked."""


class ConfigurationError(LeapError):
    """A LEAP_* setting with a value LEAP cannot use; the message names the variable."""


class SchemaError(LeapError):
    """The database schema is not the one this LEAP expects (run `leap db upgrade`)."""


class NotFoundError(LeapError):
    """The row does not exist *for this caller*: another user's ids look exactly like missing ones.

    `resource` and `refs` name what was looked up, so the refusal's audit can tell (to admins only)
    whether the ids belong to another user; the message the caller sees never says so.
    """

    def __init__(self, message: str, *, resource: str | None = None, refs: tuple[str, ...] = ()) -> None:
        self.resource = resource
        self.refs = refs
        super().__init__(message)


class PermissionDeniedError(LeapError):
    """The actor lacks the role an action needs (e.g. admin calls)."""


class InvalidTransitionError(LeapError):
    """A state change the state machine's table does not allow."""


class ConcurrentModificationError(LeapError):
    """Another worker changed the row first; the caller's view is stale, so its change was not written."""


class ValidationError(LeapError):
    """Input that cannot be accepted (bad template, bad schedule, bad name)."""


class QuotaExceededError(LeapError):
    """A quota would be exceeded; carries the limit and current usage so the message can say both."""

    def __init__(self, quota: str, limit: float, current: float, message: str | None = None) -> None:
        self.quota = quota
        self.limit = limit
        self.current = current
        super().__init__(message or f"quota {quota} exceeded: {current:g} used of {limit:g}")


class StageError(LeapError):
    """A pipeline stage could not finish; `stage` is the processing_stages name that failed."""

    def __init__(self, stage: str, message: str) -> None:
        self.stage = stage
        super().__init__(message)


class MediaError(LeapError):
    """A media file cannot be probed, decoded or cut; the message names the file's problem, not ffmpeg's."""


class BlankRecordingError(LeapError):
    """The recording holds (almost) no speech: it is skipped, not failed."""


class DownloadMismatchError(StageError):
    """The copy is not the file the source listed (fewer bytes, another checksum, changed since it was
    registered): nothing is kept, the recording fails at download, and a replaced file comes in as a new
    recording through the sync."""

    def __init__(self, message: str) -> None:
        super().__init__("download", message)


class DiskFullError(StageError):
    """A stage would not fit, or did not fit, on its filesystem: `need` and `have` in bytes."""

    def __init__(self, stage: str, need: int, have: int, where: str = "") -> None:
        self.need = need
        self.have = have
        place = f" ({where})" if where else ""
        super().__init__(stage, f"disk full at {stage}: need {_size(need)}, have {_size(have)}{place}")


def _size(count: int) -> str:
    """Bytes as a person reads them, with the exact figure for anyone comparing with `df -B1`."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(count) >= scale:
            return f"{count / scale:.1f} {unit} ({count:,} bytes)"
    return f"{count:,} bytes"
