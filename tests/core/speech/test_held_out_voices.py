"""WER on voices and text that no decoding choice was tuned on (tests/fixtures/voices.py NATURAL_JUDGING).

Three Flite voices (recorded CMU ARCTIC speakers: Scottish male, US male 18 % fast, US female) read the
judging lecture; WER is after Whisper's own English normaliser (leap_core.speech.accuracy). The bound is a
regression bound, not the issue's 6 % goal: LEAP's tiny.en default (batched, beam 5) measured 8.3 / 4.9 /
6.4 % on them (beam 3: 8.3 / 4.9 / 8.3 %; ADR 0020, 2026-12-03), the multilingual base 4.4 / 3.9 / 6.4 %.
Eight more wrong words (~4 points of these 204) on the worst voice fail it. espeak-ng's robotic judging
voices stay in the bench only: there the fixture, not the decoder, dominates the errors.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from leap_core.speech.accuracy import word_error_rate
from leap_core.speech.local_whisper import LocalWhisperTranscriber
from tests.fixtures.voices import JUDGING_TEXT, NATURAL_JUDGING, Voice, flite_available, speak

WER_BOUND = 0.12


@pytest.mark.skipif(not flite_available(), reason="Flite is not installed (scripts/test installs it)")
@pytest.mark.parametrize("voice", NATURAL_JUDGING[:3], ids=lambda v: v.name)
def test_an_unseen_voice_stays_within_the_wer_bound(voice: Voice, tmp_path: Path) -> None:
    spoken = speak(voice, JUDGING_TEXT)
    transcript = LocalWhisperTranscriber().transcribe(spoken.path, work_dir=tmp_path)
    assert transcript.language == "en"
    assert word_error_rate(JUDGING_TEXT, transcript.text) <= WER_BOUND
