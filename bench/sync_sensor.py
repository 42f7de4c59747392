"""Source-sync sensor tick: 10 new files among 10,000 known recordings vs the same tick with none known.

    /tmp/venv/bin/python bench/sync_sensor.py            # 10,000 known (SQLite under a temp dir)
    /tmp/venv/bin/python bench/sync_sensor.py --quick    # 1,000 known
    /tmp/venv/bin/python bench/sync_sensor.py --database-url postgresql+psycopg://…/empty_db

Each row is one real `source_sync_sensor` tick (build_sensor_context on a temporary Dagster instance)
over a local folder source: the folder listing, the database work and the partition request. The goal is
a tick ≤ 2 s and the same number of SQL statements in both rows.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from dagster import build_sensor_context, instance_for_test
from sqlalchemy import event, insert, update

from leap_core.api import create_user
from leap_core.audit import Actor
from leap_core.db.models import Recording, Source
from leap_core.db.types import new_ulid
from leap_core.sources.base import fingerprint
from leap_core.sources.local import LocalFolderSource
from leap_core.states import RecordingStatus
from leap_dagster.definitions import defs
from leap_dagster.resources import LeapResource
from leap_dagster.sensors import source_sync_sensor

NEW_FILES = 10
ACTOR = Actor("bench", origin="cli")


def make_folder(root: Path, known: int) -> Path:
    folder = root / f"inbox-{known}"
    folder.mkdir()
    for i in range(known + NEW_FILES):
        (folder / f"lecture-{i:05d}.mp4").write_bytes(b"x")
    return folder


def add_known(user_id: str, source_id: str, known: int, folder: Path) -> None:
    """Recordings for the first `known` files, inserted in bulk (registering them one by one is not the point),
    with the fingerprints a sync would have stored, so the tick measured is a steady-state one."""
    core = LeapResource().get()
    when = datetime(2024, 1, 1, tzinfo=UTC)
    prints = {f.file_id: fingerprint(f) for f in LocalFolderSource(folder).list_files()}
    rows = [
        {"id": new_ulid(), "user_id": user_id, "source_id": source_id, "partition_key": f"k-{source_id[-8:]}-{i}",
         "title": f"lecture-{i:05d}", "source_file_id": f"lecture-{i:05d}.mp4", "source_name": f"lecture-{i:05d}.mp4",
         "recorded_at": when, "status": RecordingStatus.INITIALIZED, "extension": "mp4", "source_size": 1,
         "source_fingerprint": prints[f"lecture-{i:05d}.mp4"]}
        for i in range(known)
    ]
    with core.db.session() as session:
        for start in range(0, len(rows), 5000):
            session.execute(insert(Recording), rows[start:start + 5000])


def only_enabled(source_id: str) -> None:
    core = LeapResource().get()
    with core.db.session() as session:
        session.execute(update(Source).values(enabled=Source.id == source_id))


def tick(instance: object) -> tuple[float, int, int]:
    core = LeapResource().get()
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(core.db.engine, "before_cursor_execute", count)
    try:
        started = time.perf_counter()
        result = source_sync_sensor(build_sensor_context(instance=instance, definitions=defs,  # type: ignore[arg-type]
                                                         resources=dict(defs.resources or {})))
        elapsed = time.perf_counter() - started
    finally:
        event.remove(core.db.engine, "before_cursor_execute", count)
    requests = getattr(result, "dynamic_partitions_requests", None) or []
    added = sum(len(r.partition_keys or []) for r in requests)
    return elapsed, len(statements), added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--known", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="1,000 known recordings")
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temp dir)")
    args = parser.parse_args()
    known = 1_000 if args.quick else args.known
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["LEAP_HOME"] = str(root / "home")
        os.environ["LEAP_DATABASE_URL"] = args.database_url or f"sqlite:///{root / 'leap.db'}"
        os.environ["LEAP_LOCAL_SOURCE_ROOTS"] = str(root)  # the bench's folders sit beside the home
        core = LeapResource().get()
        core.db.upgrade()
        user = create_user(core.db, ACTOR, "bench", None, "user")
        api = core.as_user(user["id"], ACTOR)
        folders = {n: make_folder(root, n) for n in (0, known)}
        sources = {n: api.add_local_source(f"inbox-{n}", folders[n])["id"] for n in (0, known)}
        warm_up = api.add_local_source("warm-up", root / "empty")["id"]
        add_known(user["id"], sources[known], known, folders[known])
        print(f"source-sync sensor tick, {NEW_FILES} new files ({core.db.engine.dialect.name})")
        print(f"{'known recordings':>17} {'files listed':>13} {'tick s':>8} {'SQL statements':>15} "
              f"{'new partitions':>15}")
        rows = []
        with instance_for_test() as instance:
            only_enabled(warm_up)
            tick(instance)  # first-use costs (imports, connection pool) belong to neither row
            for n in (0, known):
                only_enabled(sources[n])
                elapsed, statements, added = tick(instance)
                rows.append((elapsed, statements))
                print(f"{n:>17,} {n + NEW_FILES:>13,} {elapsed:>8.3f} {statements:>15} {added:>15}")
        (base_s, base_q), (big_s, big_q) = rows
        print(f"ratio {known:,} known / 0 known: time x{big_s / base_s:.2f}, statements x{big_q / base_q:.2f} "
              f"(goal: tick <= 2 s, statements x1.00)")
        core.db.dispose()


if __name__ == "__main__":
    main()
