"""OpenAI's `verbose_json` names the language ("english"); LEAP stores ISO 639-1 codes like faster-whisper."""

from __future__ import annotations

from leap_core.errors import ValidationError

_CODES = {
    "english": "en", "german": "de", "french": "fr", "spanish": "es", "italian": "it", "portuguese": "pt",
    "dutch": "nl", "russian": "ru", "ukrainian": "uk", "polish": "pl", "czech": "cs", "turkish": "tr",
    "arabic": "ar", "hebrew": "he", "hindi": "hi", "chinese": "zh", "japanese": "ja", "korean": "ko",
    "swedish": "sv", "norwegian": "no", "danish": "da", "finnish": "fi", "greek": "el", "hungarian": "hu",
    "romanian": "ro", "bulgarian": "bg", "serbian": "sr", "croatian": "hr", "kazakh": "kk",
    "belarusian": "be",
    "vietnamese": "vi", "indonesian": "id", "thai": "th", "persian": "fa",
}


def spoken_language(value: str) -> str:
    """A template's or a command's language: `auto` or an ISO 639-1 code ("ru"); a known name becomes its code."""
    code = language_code(value)
    if code != "auto" and not (len(code) == 2 and code.isalpha() and code.isascii()):
        raise ValidationError(f"language must be auto or a two-letter code such as en or ru, got {value!r}")
    return code


def language_code(name: str | None) -> str:
    """A code passes through; a known name becomes its code; anything else is kept as given, lowercased."""
    if not name:
        return "und"
    lowered = name.strip().lower()
    return _CODES.get(lowered, lowered)
