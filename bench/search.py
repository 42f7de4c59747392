"""Search inside lectures over 10,000 recordings: query latency and statements per search, PostgreSQL and SQLite.

    .venv/bin/python bench/search.py                          # 10,000 recordings x 30 cues, both backends
    .venv/bin/python bench/search.py --recordings 1000 --repeat 20 --backends sqlite   # a smoke run

One caller owns all the recordings (the worst case for a tenant-scoped search: nothing is filtered out
by the tenant), and a second user owns another 20 % whose cues must never be returned. Cues are
synthetic lecture sentences: a Zipf-distributed vocabulary of 5,000 invented words plus planted terms
at known rates (a rare term in 10 cues, "two-phase locking" in 0.5 %, "transaction" in 5 %, "system"
in 30 % — the common-word worst case for ranking), 20 % of recordings in Russian. Rows are written
with the same INSERT the pipeline uses. Each search goes through `UserAPI.search` (the full path:
match + rank + deep-link targets), timed `--repeat` times after one warm-up; statements are counted
with a `before_cursor_execute` listener. Goal (issue 20): ≤ 50 ms, a constant number of statements.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import event, insert, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from leap_core.api import Leap, create_user  # noqa: E402
from leap_core.audit import Actor  # noqa: E402
from leap_core.config import Settings  # noqa: E402
from leap_core.db.models import OutputTarget, Recording, TranscriptCue  # noqa: E402
from leap_core.db.session import Database  # noqa: E402
from leap_core.search.index import _PG_INSERT  # noqa: E402
from leap_core.search.terms import dictionary_for, terms  # noqa: E402
from leap_core.states import RecordingStatus, TargetStatus  # noqa: E402

ACTOR = Actor("bench", origin="cli")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
QUERIES = [
    ("rare term (10 cues)", "zanzibarite"),
    ("phrase, 0.5 % of cues", '"two-phase locking"'),
    ("websearch words, 0.5 %", "two-phase locking"),
    ("word, 5 % of cues", "transactions"),
    ("common word, 30 % of cues", "system"),
    ("russian inflection, 1 %", "лекции"),
    ("no match", "quuxotic"),
]


def vocabulary(rng: random.Random, size: int = 5000) -> list[str]:
    syllables = ["ka", "lo", "ven", "tri", "mor", "sel", "da", "pu", "rin", "gal", "ost", "ne", "fi", "bar"]
    return ["".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(size)]


def sentence(rng: random.Random, words: list[str], cumulative: list[float], russian: bool,
             planted: str | None) -> str:
    body = rng.choices(words, cum_weights=cumulative, k=rng.randint(7, 13))
    if rng.random() < 0.30:
        body.insert(rng.randrange(len(body)), "system")
    if planted:
        body.insert(rng.randrange(len(body)), planted)
    if russian:
        body.insert(0, rng.choice(["лекция", "данные", "сегодня", "пример"]))
    return " ".join(body).capitalize() + "."


def populate(db: Database, recordings: int, cues: int, seed: int = 7) -> tuple[str, str]:
    rng = random.Random(seed)
    words = vocabulary(rng)
    cumulative = list(itertools.accumulate(1 / (i + 1) for i in range(len(words))))
    owner = create_user(db, ACTOR, "caller", None, "user")["id"]
    other = create_user(db, ACTOR, "other", None, "user")["id"]
    rare_left = 10
    postgres = db.engine.dialect.name == "postgresql"
    batch: list[dict[str, Any]] = []
    made: list[dict[str, Any]] = []
    targets: list[dict[str, Any]] = []
    started = time.monotonic()
    with db.session() as session:
        for n in range(recordings + recordings // 5):
            user_id = owner if n < recordings else other
            recording_id = str(uuid.uuid4().hex[:26]).upper()
            made.append({
                "id": recording_id, "user_id": user_id, "partition_key": f"bench-{n}", "title": f"Lecture {n}",
                "source_file_id": f"f{n}", "source_name": f"f{n}.mp4", "recorded_at": datetime(2026, 1, 1, tzinfo=UTC),
                "status": RecordingStatus.UPLOADED})
            targets.append({"recording_id": recording_id, "platform": "youtube", "status": TargetStatus.UPLOADED,
                            "video_id": f"yt{n:09d}"})
            russian = n % 5 == 0
            dictionary = dictionary_for("ru" if russian else "en")
            for i in range(cues):
                roll = rng.random()
                planted = None
                if rare_left and user_id == owner and rng.random() < 10 / (recordings * cues / 10):
                    planted, rare_left = "zanzibarite", rare_left - 1
                elif roll < 0.005:
                    planted = "two-phase locking"
                elif roll < 0.055:
                    planted = "transactions"
                elif russian and roll < 0.105:
                    planted = "лекции"
                cue = sentence(rng, words, cumulative, russian, planted)
                batch.append({"recording_id": recording_id, "user_id": user_id, "position": i, "start_s": 5.0 * i,
                              "end_s": 5.0 * i + 4.5, "text": cue, "chapter": f"Part {i // 10 + 1}",
                              "dictionary": dictionary, "terms": " ".join(terms(cue, dictionary))})
            if len(batch) >= 20_000:
                write(session, postgres, made, targets, batch)
                made, targets, batch = [], [], []
        write(session, postgres, made, targets, batch)
    with db.engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    print(f"  populated {recordings + recordings // 5} recordings x {cues} cues in {time.monotonic() - started:.0f} s",
          flush=True)
    return owner, other


def write(session: Session, postgres: bool, made: list[dict[str, Any]], targets: list[dict[str, Any]],
          cues: list[dict[str, Any]]) -> None:
    """Recordings, their targets, then their cues with the pipeline's own INSERT (tsvector on PostgreSQL)."""
    if made:
        session.execute(insert(Recording), made)
        session.execute(insert(OutputTarget), targets)
    if cues:
        session.execute(_PG_INSERT if postgres else insert(TranscriptCue), cues)


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def measure(backend: str, url: str, home: Path, recordings: int, cues: int, repeat: int) -> list[dict[str, Any]]:
    db = Database(url)
    db.upgrade()
    owner, _other = populate(db, recordings, cues)
    leap = Leap(Settings(home=home, database_url=url), db)
    api = leap.as_user(owner, ACTOR)
    rows = []
    for label, query in QUERIES:
        found = api.search(query)  # warm-up (plans, page cache)
        times, statements = [], set()
        for _ in range(repeat):
            with counted(db) as sent:
                t0 = time.perf_counter()
                found = api.search(query)
                times.append((time.perf_counter() - t0) * 1000)
            statements.add(len(sent))
        assert all(m for r in found for m in r["moments"]), "every recording returned has moments"
        times.sort()
        rows.append({"backend": backend, "query": label, "moments": sum(len(r["moments"]) for r in found),
                     "median_ms": statistics.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))],
                     "statements": "/".join(str(s) for s in sorted(statements))})
    db.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recordings", type=int, default=10_000)
    parser.add_argument("--cues", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--backends", default="postgresql,sqlite")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            print(f"{backend}:", flush=True)
            if backend == "sqlite":
                rows += measure(backend, f"sqlite:///{tmp}/bench.db", Path(tmp) / "home", args.recordings,
                                args.cues, args.repeat)
                continue
            name = f"leap_bench_search_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE {name}")
            try:
                rows += measure(backend, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", Path(tmp) / "pg",
                                args.recordings, args.cues, args.repeat)
            finally:
                with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print(f"\n{args.recordings} recordings of the caller x {args.cues} cues, {args.repeat} searches each, limit 20\n")
    print(f"| {'backend':<10} | {'query':<28} | moments | median ms | p95 ms | statements/search | ≤ 50 ms |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        ok = "✔" if r["p95_ms"] <= 50 else "✘"
        print(f"| {r['backend']:<10} | {r['query']:<28} | {r['moments']:>7} | {r['median_ms']:>9.1f} | "
              f"{r['p95_ms']:>6.1f} | {r['statements']:>17} | {ok} |")


if __name__ == "__main__":
    main()
