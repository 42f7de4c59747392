"""Which language a template or command asks for, checked before any stage runs."""

from __future__ import annotations

import pytest

from leap_core.errors import ValidationError
from leap_core.speech.languages import spoken_language


@pytest.mark.parametrize(("given", "expected"), [("ru", "ru"), ("Russian", "ru"), ("auto", "auto"), ("EN", "en")])
def test_codes_names_and_auto_are_accepted(given: str, expected: str) -> None:
    assert spoken_language(given) == expected


@pytest.mark.parametrize("given", ["klingon", "ru-RU; drop", ""])
def test_anything_else_is_a_validation_error_with_a_reason(given: str) -> None:
    with pytest.raises(ValidationError, match="two-letter code"):
        spoken_language(given)
