"""Platform metadata limits as each platform counts them: YouTube's description in UTF-8 bytes, VK's in
characters; cuts on whole characters; a note for every cut; fixed preset text refused at save."""

from __future__ import annotations

import pytest

from leap_core.api import UserAPI
from leap_core.errors import ValidationError
from leap_core.publishing.metadata import fit, static_overrun, truncate_words

CYRILLIC_LECTURE = "Лекция по линейной алгебре: векторные пространства и их базисы. "  # 2 bytes a letter
CHAPTERS = [(0.0, "Введение"), (600.0, "Базисы"), (1500.0, "Размерность")]


def test_a_cyrillic_youtube_description_is_cut_to_5000_bytes_not_characters() -> None:
    description = CYRILLIC_LECTURE * 80  # 5,120 characters, 9,360 bytes (spaces and punctuation take 1)
    fitted = fit("youtube", "Лекция 3", description, CHAPTERS)
    sent = fitted.description.encode("utf-8")
    assert len(sent) <= 5000 and len(fitted.description) < 3000  # characters would have kept ~5,000
    assert fitted.description.endswith("0:00 Введение\n10:00 Базисы\n25:00 Размерность")
    assert "…" in fitted.description
    (note,) = fitted.notes
    assert note["field"] == "description" and note["limit"] == "5,000 bytes (UTF-8)"
    assert note["size"] > 9000 and note["kept"] == len(sent)


def test_angle_brackets_are_measured_after_youtube_replaces_them() -> None:
    fitted = fit("youtube", "t", "<" * 2000, [])  # 2,000 bytes as typed, 6,000 once made look-alike
    assert len(fitted.description.encode("utf-8")) <= 5000 and "<" not in fitted.description


def test_a_youtube_title_is_cut_at_100_characters_whatever_their_bytes() -> None:
    fitted = fit("youtube", "Я" * 150, "", [])
    assert len(fitted.title) == 100 and fitted.title.endswith("…")
    assert fitted.notes == [{"field": "title", "limit": "100 characters", "size": 150, "kept": 100}]


def test_youtube_tags_keep_within_500_characters_and_say_how_many_were_dropped() -> None:
    tags = [f"тема номер {i}" for i in range(60)]  # 13-14 characters plus quotes each: over 500 in all
    fitted = fit("youtube", "t", "", [], tags)
    cost = sum(len(t) + 2 for t in fitted.tags) + len(fitted.tags) - 1
    assert cost <= 500 and fitted.tags == tags[: len(fitted.tags)]
    (note,) = fitted.notes
    assert (note["field"], note["dropped"]) == ("tags", 60 - len(fitted.tags))


def test_vk_counts_its_5000_description_characters_as_characters() -> None:
    exactly = "я" * 5000  # 10,000 bytes: fits VK, which counts characters
    assert fit("vk", "t", exactly, []).description == exactly
    longer = fit("vk", "Я" * 200, "я" * 6000, [])
    assert (len(longer.title), len(longer.description)) == (128, 5000)
    assert [n["field"] for n in longer.notes] == ["title", "description"]


def test_text_within_every_limit_carries_no_note() -> None:
    assert fit("youtube", "Лекция 3", CYRILLIC_LECTURE, CHAPTERS, ["алгебра"]).notes == []
    assert fit("local", "x" * 10_000, "y" * 100_000, []).notes == []  # export has no limits


@pytest.mark.parametrize("limit", range(1, 40))
def test_a_byte_cut_never_splits_a_character(limit: int) -> None:
    text = "aЯ€😀 ж" * 10  # 1-, 2-, 3- and 4-byte characters
    cut = truncate_words(text, limit, "bytes")
    assert len(cut.encode("utf-8")) <= limit
    assert cut == "" or cut.endswith("…")


@pytest.mark.parametrize(("platform", "field", "value", "message"), [
    ("youtube", "description", "я" * 3000, "6,000 bytes; YouTube allows at most 5,000 bytes (UTF-8)"),
    ("youtube", "title", "x" * 101, "101 characters; YouTube allows at most 100 characters"),
    ("vk", "title", "x" * 129, "129 characters; VK allows at most 128 characters"),
    ("youtube", "tags", ["длинная тема"] * 40, "YouTube allows at most 500 characters"),
])
def test_fixed_preset_text_over_a_limit_is_known_at_save(platform: str, field: str, value: object,
                                                          message: str) -> None:
    overrun = static_overrun(platform, field, value)  # type: ignore[arg-type]
    assert overrun is not None and message in overrun


def test_text_with_placeholders_is_left_to_publish_time() -> None:
    assert static_overrun("youtube", "description", "{{ summary }}" + "я" * 3000) is None
    assert static_overrun("vk", "description", "я" * 5000) is None


def test_a_template_with_a_fixed_description_over_youtubes_bytes_is_refused_at_save(alice: UserAPI) -> None:
    with pytest.raises(ValidationError, match=r"^preset youtube\.description: 6,000 bytes; YouTube allows"):
        alice.add_template("lectures", targets=["youtube"], presets={"youtube": {"description": "я" * 3000}})
    assert alice.templates() == []
    alice.add_template("lectures", targets=["youtube"],
                       presets={"youtube": {"description": "{{ summary }} " + "я" * 3000}})
