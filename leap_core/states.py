"""The recording and output-target state machines, exactly as DESIGN.md draws them.

The tables are data, not code paths, so that the property test can walk them and every caller
(assets, API, sensors) is checked against the same source of truth.
"""

from __future__ import annotations

from enum import StrEnum

from leap_core.errors import InvalidTransitionError


class RecordingStatus(StrEnum):
    PENDING_SOURCE = "PENDING_SOURCE"
    INITIALIZED = "INITIALIZED"
    DOWNLOADING = "DOWNLOADING"
    DOWNLOADED = "DOWNLOADED"
    PROCESSING = "PROCESSING"
    PROCESSED = "PROCESSED"
    TRANSCRIBING = "TRANSCRIBING"
    TRANSCRIBED = "TRANSCRIBED"
    UPLOADING = "UPLOADING"
    UPLOADED = "UPLOADED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


class TargetStatus(StrEnum):
    NOT_UPLOADED = "NOT_UPLOADED"
    UPLOADING = "UPLOADING"
    UPLOADED = "UPLOADED"
    FAILED = "FAILED"


R = RecordingStatus
T = TargetStatus

RECORDING_TRANSITIONS: dict[RecordingStatus, frozenset[RecordingStatus]] = {
    R.PENDING_SOURCE: frozenset({R.INITIALIZED, R.SKIPPED}),
    R.INITIALIZED: frozenset({R.DOWNLOADING, R.FAILED, R.SKIPPED}),
    R.DOWNLOADING: frozenset({R.DOWNLOADED, R.FAILED}),
    R.DOWNLOADED: frozenset({R.PROCESSING, R.FAILED}),
    # PROCESSING → SKIPPED is LEAP's one addition to the specification's table: the trim stage's speech
    # analysis is where a blank recording is found (ADR 0001).
    R.PROCESSING: frozenset({R.PROCESSED, R.FAILED, R.SKIPPED}),
    R.PROCESSED: frozenset({R.TRANSCRIBING, R.FAILED}),
    R.TRANSCRIBING: frozenset({R.TRANSCRIBED, R.FAILED}),
    R.TRANSCRIBED: frozenset({R.UPLOADING, R.FAILED}),
    R.UPLOADING: frozenset({R.UPLOADED, R.FAILED}),
    R.UPLOADED: frozenset(),
    R.FAILED: frozenset({R.DOWNLOADING, R.PROCESSING, R.TRANSCRIBING, R.UPLOADING}),
    R.SKIPPED: frozenset(),
}

TARGET_TRANSITIONS: dict[TargetStatus, frozenset[TargetStatus]] = {
    T.NOT_UPLOADED: frozenset({T.UPLOADING, T.FAILED}),
    T.UPLOADING: frozenset({T.UPLOADED, T.FAILED}),
    T.UPLOADED: frozenset(),
    T.FAILED: frozenset({T.UPLOADING}),
}

RESETTABLE: frozenset[RecordingStatus] = frozenset({R.FAILED, R.SKIPPED, R.UPLOADED})
"""Reset is the one move outside the table: an audited administrative return to INITIALIZED."""

IN_FLIGHT: frozenset[RecordingStatus] = frozenset(
    {R.DOWNLOADING, R.PROCESSING, R.TRANSCRIBING, R.UPLOADING}
)
"""States in which a run is working on the recording; a run that dies here must be noticed."""


def check_recording_transition(current: RecordingStatus, new: RecordingStatus) -> None:
    if new not in RECORDING_TRANSITIONS[current]:
        raise InvalidTransitionError(f"recording cannot move from {current} to {new}")


def check_target_transition(current: TargetStatus, new: TargetStatus) -> None:
    if new not in TARGET_TRANSITIONS[current]:
        raise InvalidTransitionError(f"output target cannot move from {current} to {new}")
