"""Whisper invents text over silence and noise ("Thank you for watching."); these are the tells.

The thresholds are Whisper's own decoding fallbacks (openai/whisper `transcribe.py`): a segment the model
itself thinks is probably not speech *and* decoded with low confidence is dropped, as is one whose text
compresses too well (a loop repeating the same phrase).
"""

from __future__ import annotations

NO_SPEECH_PROB = 0.6
AVG_LOGPROB = -1.0
COMPRESSION_RATIO = 2.4


def is_hallucination(
    no_speech_prob: float | None, avg_logprob: float | None, compression_ratio: float | None
) -> bool:
    if compression_ratio is not None and compression_ratio > COMPRESSION_RATIO:
        return True
    silent = no_speech_prob is not None and no_speech_prob > NO_SPEECH_PROB
    unsure = avg_logprob is None or avg_logprob < AVG_LOGPROB
    return silent and unsure
