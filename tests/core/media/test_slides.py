"""Slide changes of a generated screen share, and chapters that snap to them (leap_core.media.slides)."""

from __future__ import annotations

from pathlib import Path

from leap_core.media.slides import slide_changes
from leap_core.speech.slide_chapters import slide_boundaries, snap
from leap_core.speech.slide_images import keep_slides
from leap_core.speech.topic_models import Chapter, Topics
from tests.fixtures.slides import SlideSpec, make_deck

TOLERANCE = 1.0


def test_slide_changes_are_found_through_builds_fades_shared_backgrounds_and_a_moving_inset() -> None:
    """White slides that differ only in text, colour changes, fades from black, bullets appearing on every
    slide and a test-pattern inset moving all the time: only the real changes are reported."""
    specs = [SlideSpec(8, f"Part {i}: {word}", (f"{word} in practice", f"why {word} matters"))
             for i, word in enumerate(["Replication", "Leaders", "Elections", "Quorums", "Failures", "Recovery"])]
    deck = make_deck(specs)
    found = [c.at for c in slide_changes(deck.path)]
    assert len(found) == len(specs) - 1
    assert all(abs(f - t) <= TOLERANCE for f, t in zip(found, deck.starts[1:], strict=True))


def test_a_topic_boundary_snaps_to_a_slide_change_within_fifteen_seconds() -> None:
    assert snap([0.0, 100.0, 230.0], [40.0, 112.0, 260.0]) == [0.0, 112.0, 230.0]
    assert snap([100.0, 104.0], [101.0]) == [101.0, 104.0]  # each change taken once


def test_a_long_slide_starts_a_chapter_even_without_a_topic_boundary_nearby() -> None:
    assert slide_boundaries([200.0, 320.0], [90.0, 205.0, 230.0, 240.0], duration=400, min_seconds=60) == [
        0.0, 90.0, 205.0, 240.0]  # 230 is up for 10 s only; 320 has no slide change near it


def test_each_chapters_slide_and_the_title_slide_are_kept_beside_the_topics(tmp_path: Path) -> None:
    deck = make_deck([SlideSpec(8, f"Part {i}: {w}") for i, w in enumerate(["Intro", "Caches", "Queues"])])
    topics = Topics(summary="", chapters=[Chapter(start=0, title="Intro"), Chapter(start=8, title="Caches"),
                                          Chapter(start=16, title="Queues")])
    kept = keep_slides(topics, [c.at for c in slide_changes(deck.path)], deck.path, tmp_path / "slides")
    assert kept.slide_changes == [8.0, 16.0] and kept.thumbnail == "title.jpg"
    assert [s.image for s in kept.slides] == ["chapter-01.jpg", "chapter-02.jpg", "chapter-03.jpg"]
    assert all((tmp_path / "slides" / name).read_bytes()[:2] == b"\xff\xd8"
               for name in ["title.jpg", *(s.image for s in kept.slides)])
