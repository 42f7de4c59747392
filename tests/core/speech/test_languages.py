"""Languages: Russian goes to the multilingual model, `auto` votes over windows of speech."""

from __future__ import annotations

from pathlib import Path

import pytest

from leap_core.speech.language_detection import window_starts
from leap_core.speech.local_whisper import LocalWhisperTranscriber
from tests.fixtures.voices import JUDGING, JUDGING_TEXT, RUSSIAN_FESTIVAL, RUSSIAN_TEXT, festival_available, speak

pytestmark = pytest.mark.skipif(not festival_available(), reason="Festival's Russian voice is not installed")


def _cyrillic_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum("\u0400" <= c <= "\u04ff" for c in letters) / max(1, len(letters))


def test_a_russian_lecture_transcribed_as_ru_is_cyrillic_text_from_the_multilingual_model(tmp_path: Path) -> None:
    spoken = speak(RUSSIAN_FESTIVAL, RUSSIAN_TEXT)
    transcript = LocalWhisperTranscriber(language="ru").transcribe(spoken.path, work_dir=tmp_path)
    assert transcript.language == "ru"
    assert transcript.model == "faster-whisper:base"
    assert _cyrillic_share(transcript.text) > 0.95
    assert transcript.word_count >= 40


@pytest.mark.parametrize(("which", "expected"), [("ru", "ru"), ("en", "en")])
def test_auto_tells_english_from_russian_and_records_its_confidence(which: str, expected: str,
                                                                    tmp_path: Path) -> None:
    spoken = speak(RUSSIAN_FESTIVAL, RUSSIAN_TEXT) if which == "ru" else speak(JUDGING[0], JUDGING_TEXT)
    transcript = LocalWhisperTranscriber(language="auto").transcribe(spoken.path, work_dir=tmp_path)
    assert transcript.language == expected
    assert transcript.language_probability is not None and transcript.language_probability > 0.5
    assert transcript.model == ("faster-whisper:tiny.en" if expected == "en" else "faster-whisper:base")


def test_detection_windows_skip_the_opening_and_spread_over_the_recording() -> None:
    starts = window_starts(600.0)
    assert len(starts) == 4
    assert min(starts) > 30.0
    assert max(starts) + 30.0 <= 600.0
    assert window_starts(20.0) == [0.0]
