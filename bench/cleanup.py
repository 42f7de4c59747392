"""The disk clean-up sweep (`leap_core.cleanup.sweep`) over a storage tree of many recordings.

    .venv/bin/python bench/cleanup.py              # 10,000 recordings (SQLite under a temp dir)
    .venv/bin/python bench/cleanup.py --quick      # 1,000

Each recording folder holds a source, a trimmed video, a transcript and a chunk folder, as a finished
recording does. Rows: no strays at all (the usual tick: a walk of the tree, no query), and 1 % of the
recordings with a stray trim work folder and `.part` file (one query per 1,000, then the removals). The
reference is a bare `os.walk` of the same tree: the sweep should cost about one walk.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import insert

from leap_core import cleanup
from leap_core.api import Leap, create_user
from leap_core.audit import Actor
from leap_core.config import Settings
from leap_core.db.models import Recording
from leap_core.db.session import Database
from leap_core.db.types import new_ulid
from leap_core.states import RecordingStatus

ACTOR = Actor("bench", origin="cli")


def build(leap: Leap, count: int) -> list[Path]:
    user = create_user(leap.db, ACTOR, "bench", None, "user")
    storage = leap.settings.resolved_storage_dir / "bench"
    ids = [new_ulid() for _ in range(count)]
    when = datetime(2024, 1, 1, tzinfo=UTC)
    with leap.db.session() as session:
        session.execute(insert(Recording), [
            {"id": rid, "user_id": user["id"], "partition_key": f"k-{rid}", "title": "t", "source_file_id": rid,
             "source_name": "t.mp4", "recorded_at": when, "status": RecordingStatus.FAILED, "extension": "mp4"}
            for rid in ids])
    folders = []
    for rid in ids:
        folder = storage / rid
        (folder / "transcript.chunks").mkdir(parents=True)
        for name in ("source.mp4", "trimmed.mp4", "transcript.json", "transcript.chunks/chunk-0000.json"):
            (folder / name).write_bytes(b"x")
        folders.append(folder)
    return folders


def add_strays(folders: list[Path], every: int) -> int:
    past = time.time() - 3600
    made = 0
    for folder in folders[::every]:
        work = folder / ".leap-trim-bench"
        work.mkdir()
        (work / "partial.mp4").write_bytes(b"x" * 1000)
        (folder / ".source.mp4.part").write_bytes(b"x" * 1000)
        for path in (work, folder / ".source.mp4.part"):
            os.utime(path, (past, past))
        made += 2
    return made


def timed_walk(root: Path) -> float:
    started = time.perf_counter()
    for _ in os.walk(root):
        pass
    return time.perf_counter() - started


def timed_sweep(leap: Leap) -> tuple[float, cleanup.SweepReport]:
    started = time.perf_counter()
    with leap.db.session() as session:
        report = cleanup.sweep(session, leap.settings)
    return time.perf_counter() - started, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recordings", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="1,000 recordings")
    args = parser.parse_args()
    count = 1_000 if args.quick else args.recordings
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp) / "home")
        leap = Leap(settings, Database(settings.resolved_database_url))
        leap.db.upgrade()
        folders = build(leap, count)
        timed_walk(settings.resolved_storage_dir)  # warm the dentry cache for both rows alike
        table = Table(title=f"cleanup sweep over {count:,} recording folders ({leap.db.engine.dialect.name})")
        for column in ("case", "strays", "removed", "sweep s", "os.walk s", "sweep ÷ walk"):
            table.add_column(column, justify="right")
        walk = timed_walk(settings.resolved_storage_dir)
        elapsed, report = timed_sweep(leap)
        table.add_row("no strays", "0", str(len(report.removed)), f"{elapsed:.3f}", f"{walk:.3f}",
                      f"{elapsed / walk:.2f}")
        strays = add_strays(folders, 100)
        walk = timed_walk(settings.resolved_storage_dir)
        elapsed, report = timed_sweep(leap)
        table.add_row("1 % with strays", str(strays), str(len(report.removed)), f"{elapsed:.3f}", f"{walk:.3f}",
                      f"{elapsed / walk:.2f}")
        Console().print(table)
        leap.db.dispose()


if __name__ == "__main__":
    main()
