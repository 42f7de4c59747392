"""Which audio tracks of a recording carry the lecture: OBS and some Zoom exports record desktop audio
and the microphone as separate tracks, and the speech may be on any of them, or on several.

Every track is scored with the same VAD as trimming (read whole when short, sampled when long); the
tracks with speech are used, mixed when there are several, and the choice and its reason are kept
for the metadata. When no track has speech the first is used, and the blank verdict follows from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from leap_core.media.probe import MediaInfo
from leap_core.media.speech import VadSettings, track_speech

MIN_TRACK_SPEECH_S = 1.0
"""Less estimated speech on a track than this, and it carries none (a notification sound, a cough)."""
SPEECH_SHARE = 0.25
"""A track with speech joins the mix only with at least this share of the busiest track's speech: a
desktop track that played a short clip is not worth its background noise in the whole lecture."""


@dataclass(frozen=True)
class TrackChoice:
    """Audio tracks used (0-based), each track's estimated seconds of speech, and why."""

    tracks: list[int]
    speech_s: list[float] = field(default_factory=list)
    reason: str = "the recording has one audio track"

    def to_dict(self) -> dict[str, object]:
        return {"audio_tracks_used": [t + 1 for t in self.tracks],
                "audio_track_speech_s": [round(s, 1) for s in self.speech_s], "audio_track_reason": self.reason}


def _named(tracks: list[int]) -> str:
    names = [str(t + 1) for t in tracks]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def choose_tracks(src: Path, info: MediaInfo, settings: VadSettings = VadSettings()) -> TrackChoice:
    """The tracks to trim by and to keep."""
    if info.audio_tracks <= 1:
        return TrackChoice([0])
    speech = track_speech(src, info.duration_s, info.audio_tracks, settings)
    heard = ", ".join(f"track {i + 1}: {s:.1f} s" for i, s in enumerate(speech))
    best = max(speech)
    if best < MIN_TRACK_SPEECH_S:
        return TrackChoice([0], speech, f"no audio track carries speech ({heard}); track 1 judged")
    chosen = [i for i, s in enumerate(speech) if s >= MIN_TRACK_SPEECH_S and s >= SPEECH_SHARE * best]
    if len(chosen) == 1:
        return TrackChoice(chosen, speech, f"speech on track {_named(chosen)} only ({heard})")
    return TrackChoice(chosen, speech, f"speech on tracks {_named(chosen)}, mixed ({heard})")
