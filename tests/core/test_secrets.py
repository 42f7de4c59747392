"""SecretBox and the log filter: credentials survive a round trip and key rotation, and never leak."""

from __future__ import annotations

import logging

import pytest

from leap_core.errors import LeapError
from leap_core.secrets import SecretBox, SecretKeyError, SecretRedactingFilter, redact

CREDENTIALS = {"token": "fake.a0-access-token-value", "refresh_token": "1//refresh-token-value"}


def test_encrypted_credentials_decrypt_to_the_same_mapping() -> None:
    box = SecretBox([SecretBox.generate_key()])

    token = box.encrypt(CREDENTIALS)

    assert box.decrypt(token) == CREDENTIALS
    assert b"refresh-token-value" not in token


def test_a_token_from_the_old_key_still_decrypts_after_a_new_key_is_added() -> None:
    old_key, new_key = SecretBox.generate_key(), SecretBox.generate_key()
    token = SecretBox([old_key]).encrypt(CREDENTIALS)

    assert SecretBox([new_key, old_key]).decrypt(token) == CREDENTIALS


def test_rotation_re_encrypts_under_the_newest_key_so_the_old_one_can_be_dropped() -> None:
    old_key, new_key = SecretBox.generate_key(), SecretBox.generate_key()
    token = SecretBox([old_key]).encrypt(CREDENTIALS)

    rotated = SecretBox([new_key, old_key]).rotate(token)

    assert SecretBox([new_key]).decrypt(rotated) == CREDENTIALS


def test_a_token_no_configured_key_opens_raises_a_clean_leap_error() -> None:
    token = SecretBox([SecretBox.generate_key()]).encrypt(CREDENTIALS)

    with pytest.raises(SecretKeyError, match="cannot be decrypted") as caught:
        SecretBox([SecretBox.generate_key()]).decrypt(token)
    assert caught.value.__cause__ is None


def test_a_missing_key_raises_a_leap_error_that_says_how_to_make_one() -> None:
    with pytest.raises(LeapError, match=r"LEAP_SECRET_KEY is not set.*generate_key"):
        SecretBox([])


def test_an_invalid_key_is_reported_by_position_without_echoing_it() -> None:
    bad_key = "not-a-real-fernet-key-but-secret"

    with pytest.raises(SecretKeyError, match="entry 2 is not a valid key") as caught:
        SecretBox([SecretBox.generate_key(), bad_key])
    assert bad_key not in str(caught.value)


def test_redaction_shows_only_the_last_four_characters_of_a_long_secret() -> None:
    assert redact("fake.a0-access-token-value") == "…alue"


def test_redaction_shows_nothing_of_a_short_secret() -> None:
    assert redact("short-secret") == "…"


def test_the_log_filter_scrubs_registered_secrets_from_messages_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("tests.secrets")
    scrubber = SecretRedactingFilter([CREDENTIALS["token"]])
    caplog.handler.addFilter(scrubber)
    try:
        with caplog.at_level(logging.INFO, logger="tests.secrets"):
            logger.info("calling with token %s", CREDENTIALS["token"])
            try:
                raise RuntimeError(f"boom {CREDENTIALS['token']}")
            except RuntimeError:
                logger.exception("failed")
    finally:
        caplog.handler.removeFilter(scrubber)

    assert CREDENTIALS["token"] not in caplog.text
    assert "calling with token …" in caplog.text
    assert "RuntimeError: boom …" in caplog.text


def test_the_log_filter_ignores_values_too_short_to_scrub_safely() -> None:
    scrubber = SecretRedactingFilter(["abc"])
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "abc def", None, None)

    scrubber.filter(record)

    assert record.getMessage() == "abc def"
