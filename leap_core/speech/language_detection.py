"""`auto`: which language a recording is in, by a vote over several windows of speech.

The first 30 s of a lecture are often silence, a countdown or a greeting in another language, so one
window there decides badly. LEAP instead asks the multilingual model about `WINDOWS` windows spread
over the middle of the recording and adds up each language's probability; the winner and its share of
the total are recorded in the transcript.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from faster_whisper import WhisperModel

from leap_core.speech.audio import read_pcm

WINDOWS = 4
WINDOW_SECONDS = 30.0


def window_starts(duration: float) -> list[float]:
    """Starts of `WINDOWS` windows centred at 1/5 ... 4/5 of the recording (all of it if it is short)."""
    if duration <= WINDOW_SECONDS:
        return [0.0]
    return [max(0.0, min(duration - WINDOW_SECONDS, duration * (i + 1) / (WINDOWS + 1) - WINDOW_SECONDS / 2))
            for i in range(WINDOWS)]


def detect_language(model: WhisperModel, audio: Path, duration: float) -> tuple[str, float]:
    """(ISO 639-1 code, its share of the summed probability over the windows)."""
    votes: Counter[str] = Counter()
    for start in sorted(set(window_starts(duration))):
        pcm = read_pcm(audio, start, WINDOW_SECONDS)
        if len(pcm) == 0:
            continue
        _, _, ranked = model.detect_language(audio=pcm, vad_filter=True)
        for code, probability in ranked[:5]:
            votes[code] += probability
    if not votes:
        return "en", 0.0
    code, score = votes.most_common(1)[0]
    return code, round(score / sum(votes.values()), 3)
