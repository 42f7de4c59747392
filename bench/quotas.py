"""Quota check latency under 50 concurrent callers vs one caller, and the admin stats queries at scale.

Runs on PostgreSQL in a database of its own (created, migrated, dropped): set LEAP_BENCH_DATABASE_URL
to the server's maintenance database (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres).

    /tmp/venv/bin/python bench/quotas.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from leap_core import stats, usage
from leap_core.db.models import ProcessingStage, Recording, User
from leap_core.db.session import Database
from leap_core.quotas import EffectiveQuotas

BASE_URL = os.environ.get("LEAP_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
GENEROUS = EffectiveQuotas(10**9, 10**6, None, None, None, source="bench")


@contextmanager
def scratch_database() -> Iterator[str]:
    name = f"leap_bench_quotas_{uuid.uuid4().hex[:8]}"
    admin = create_engine(BASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(BASE_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def make_users(db: Database, count: int) -> list[str]:
    ids = [f"{i:026d}" for i in range(count)]
    with db.session() as session:
        session.execute(insert(User), [{"id": uid, "slug": f"u{i}", "role": "user", "preferences": {},
                                        "created_at": datetime.now(UTC)} for i, uid in enumerate(ids)])
    return ids


def reserve_latencies(url: str, callers: int, calls: int, user_of: Callable[[int], str]) -> list[float]:
    """Each caller its own connection and one transaction per reservation, as registrations run."""
    engine = create_engine(url, pool_size=callers, max_overflow=0)
    start = threading.Barrier(callers)
    latencies: list[float] = []

    def caller(index: int) -> None:
        mine: list[float] = []
        with engine.connect():
            pass
        start.wait()
        for _ in range(calls):
            began = time.perf_counter()
            with Session(engine) as session, session.begin():
                usage.reserve_recording(session, user_of(index), 1000, GENEROUS)
            mine.append(time.perf_counter() - began)
        latencies.extend(mine)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    return latencies


def fill_recordings(db: Database, users: list[str], per_user: int) -> None:
    """Bulk rows straight into the tables: the bench measures the read side, not registration."""
    statuses = ["UPLOADED", "FAILED", "SKIPPED", "TRANSCRIBED"]
    base = datetime(2026, 1, 1, tzinfo=UTC)
    with db.session() as session:
        for u, user_id in enumerate(users):
            rows = [{"id": f"{u:06d}{i:020d}", "user_id": user_id, "partition_key": f"{u}-{i}", "title": "t",
                     "source_file_id": f"{u}-{i}", "source_name": "t.mp4", "extension": "mp4",
                     "recorded_at": base + timedelta(hours=i), "status": statuses[i % 4], "failed": False,
                     "retry_count": 0, "duration_s": 600.0, "storage_bytes": 10**8, "version": 1,
                     "created_at": base, "updated_at": base} for i in range(per_user)]
            session.execute(insert(Recording), rows)
            session.execute(insert(ProcessingStage), [
                {"recording_id": r["id"], "stage": "transcribe", "status": "completed", "started_at": base,
                 "completed_at": base + timedelta(seconds=30), "details": {}} for r in rows[::2]])


def timed_frame(db: Database, build: Callable[[Session], Any]) -> tuple[float, int, int]:
    """Seconds, SQL statements and rows for one DataFrame."""
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.session() as session:
            began = time.perf_counter()
            df = build(session)
            elapsed = time.perf_counter() - began
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return elapsed, statements, len(df)


def ms(values: list[float], q: float) -> str:
    return f"{statistics.quantiles(values, n=100)[int(q) - 1] * 1000:.1f}" if len(values) > 1 else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20 users x 200 recordings, fewer calls")
    args = parser.parse_args()
    users_n, per_user, calls = (20, 200, 5) if args.quick else (100, 1000, 20)
    with scratch_database() as url:
        db = Database(url)
        db.upgrade()
        users = make_users(db, max(users_n, 50))
        single = reserve_latencies(url, 1, calls * 10, lambda _: users[0])
        spread = reserve_latencies(url, 50, calls, lambda i: users[i])
        same = reserve_latencies(url, 50, calls, lambda _: users[1])
        print(f"quota check (reserve_recording, one transaction each), PostgreSQL, {calls} calls per caller")
        print(f"{'case':<36}{'calls':>7}{'p50 ms':>9}{'p95 ms':>9}{'p50 vs 1':>10}")
        base = statistics.median(single)
        for label, values in [("1 caller", single), ("50 callers, 50 users", spread),
                              ("50 callers, one user (contended)", same)]:
            print(f"{label:<36}{len(values):>7}{ms(values, 50):>9}{ms(values, 95):>9}"
                  f"{statistics.median(values) / base:>9.1f}x")
        fill_recordings(db, users[:users_n], per_user)
        print(f"\nadmin stats over {users_n} users x {per_user} recordings")
        print(f"{'DataFrame':<24}{'queries':>8}{'rows':>7}{'seconds':>9}")
        for label, build in [("per_user", stats.per_user), ("platform_overview", stats.platform_overview),
                             ("user_totals (one user)", lambda s: stats.user_totals(s, users[0])),
                             ("stage_times", stats.stage_times)]:
            elapsed, statements, rows = timed_frame(db, build)
            print(f"{label:<24}{statements:>8}{rows:>7}{elapsed:>9.3f}")
        db.dispose()


if __name__ == "__main__":
    main()
