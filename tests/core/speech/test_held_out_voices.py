"""WER on voices and text that no decoding choice was tuned on (tests/fixtures/voices.py JUDGING).

The bound is a regression bound, not the issue's 6 % goal: on these espeak-ng variants LEAP's tiny.en
default measured 11-16 % (bench/transcribe.py --voices, ADR 0020) and plain sequential beam-5 decoding
10-15 %, so the gap is the model's, not the decoding's. A lost sentence (~7 % of these ~200 words) on top
of today's worst voice fails it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from leap_core.speech.accuracy import word_error_rate
from leap_core.speech.local_whisper import LocalWhisperTranscriber
from tests.fixtures.voices import JUDGING, JUDGING_TEXT, Voice, speak

WER_BOUND = 0.22


@pytest.mark.parametrize("voice", JUDGING[:3], ids=lambda v: v.name)
def test_an_unseen_voice_stays_within_the_wer_bound(voice: Voice, tmp_path: Path) -> None:
    spoken = speak(voice, JUDGING_TEXT)
    transcript = LocalWhisperTranscriber().transcribe(spoken.path, work_dir=tmp_path)
    assert transcript.language == "en"
    assert word_error_rate(JUDGING_TEXT, transcript.text) <= WER_BOUND
