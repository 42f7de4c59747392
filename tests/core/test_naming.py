"""Keys an operator reads: titles in any script transliterate instead of vanishing."""

from __future__ import annotations

from datetime import datetime

from leap_core.naming import PARTITION_KEY_MAX, partition_key, slugify


def test_a_cyrillic_title_transliterates() -> None:
    assert slugify("Лекция 1 — введение") == "lekciia-1-vvedenie"


def test_a_cyrillic_file_name_gives_a_transliterated_partition_key() -> None:
    key = partition_key(datetime(2026, 12, 3), "demo", "Лекция 1 — введение", "01JEXAMPLE00000000D8R3BV74")
    assert key == "20261203-demo-lekciia-1-vvedenie-d8r3bv74"


def test_latin_accents_fold_and_nothing_readable_falls_back() -> None:
    assert slugify("Café Über") == "cafe-uber"
    assert slugify("!!! ???") == "untitled"


def test_a_long_russian_title_is_cut_to_fit_the_key() -> None:
    title = "Очень длинное название лекции " * 10
    key = partition_key(datetime(2026, 12, 3), "demo", title, "01JEXAMPLE00000000D8R3BV74")
    assert len(key) <= PARTITION_KEY_MAX
    assert key.startswith("20261203-demo-ochen-dlinnoe-nazvanie")
