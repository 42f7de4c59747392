"""One recording's story in the Dagster UI, checked in a real browser (headless Chromium through Playwright).

    .venv/bin/python bench/ui_story.py                    # prints what each page showed, saves docs/ui/*.png
    .venv/bin/python bench/ui_story.py --keep             # leave the webserver up and print its URL

Three lectures are dropped into a fresh embedded home and run through LEAP's real definitions on a real
Dagster instance (in-process runs, as the tests do): one is published to the local export, one is
blank (SKIPPED), one is not a video (FAILED at download). Then `dagster-webserver` serves that
instance and Chromium opens each asset's partition page as an operator would, and the script reports
whether LEAP's state, the reason, the user's file name, the published link and the runs link are
on the page. The screenshots it saves are the ones in docs/ui/.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = os.environ.get("LEAP_UI_CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "docs" / "ui"


@dataclass(frozen=True)
class Page:
    """One partition page and what an operator must read on it.

    `view` is Dagster's tab: `partitions` shows a materialised partition's metadata; a partition with
    no materialisation (skipped, or never run after a failure) shows "View all historical events",
    which is the `events` tab, where LEAP's observation of it is selected.
    """

    name: str
    title: str
    asset: str
    view: str
    expect: tuple[str, ...]
    shot: str | None = None


def prepare(base: Path) -> dict[str, str]:
    """A fresh LEAP home and Dagster home, three lectures run through the pipeline; returns title → partition."""
    os.environ.update({"LEAP_HOME": str(base / "leap"), "DAGSTER_HOME": str(base / "dagster"),
                       "XDG_CONFIG_HOME": str(base / "config")})
    os.environ.pop("LEAP_DATABASE_URL", None)
    from dagster import DagsterInstance

    from leap_core.api import Leap
    from leap_core.bootstrap import init_embedded
    from leap_core.config import Settings
    from leap_core.db.session import Database
    from tests.fixtures.media import LectureSpec, make_lecture
    from tests.support.dagster import settle
    from tests.support.services import prepare_dagster_home

    logging.getLogger("dagster").setLevel(logging.WARNING)  # the in-process runs' step-by-step DEBUG lines
    prepare_dagster_home(base / "dagster")
    settings = Settings()
    leap = Leap(settings, Database(settings.resolved_database_url))
    init_embedded(leap)
    demo = leap.as_user("demo")
    inbox = Path(demo.sources()[0]["path"])
    shutil.copy(make_lecture().path, inbox / "Week 1 - Linear algebra.mp4")
    shutil.copy(make_lecture(LectureSpec(sentences=(), head_silence=6.0, tail_silence=0.0)).path,
                inbox / "Empty room.mp4")
    (inbox / "Week 3 - Eigenvalues.mp4").write_bytes(b"this is not a video at all" * 100)
    with DagsterInstance.from_config(str(base / "dagster")) as instance:
        settle(instance)
    return {r["title"]: r["partition_key"] for r in demo.recordings()}


@contextmanager
def webserver(base: Path, port: int) -> Iterator[str]:
    """`dagster-webserver` on the prepared instance, started from DAGSTER_HOME as scripts/dev does."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = (base / "webserver.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-w", str(ROOT / "workspace.yaml"),
         "-h", "127.0.0.1", "-p", str(port), "--dagster-log-level", "warning"],
        cwd=base / "dagster", env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError(f"the webserver did not come up; see {base / 'webserver.log'}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def pages() -> list[Page]:
    return [
        Page("published", "Week 1 - Linear algebra", "exported_video", "partitions",
             ("Materialized", "UPLOADED", "Week 1 - Linear algebra.mp4", "file://", "All runs of this recording"),
             "published-partition.png"),
        Page("skipped", "Empty room", "transcript", "events",
             ("not run: SKIPPED: blank recording", "why skipped", "Empty room.mp4"), "skipped-partition.png"),
        Page("failed", "Week 3 - Eigenvalues", "trimmed_video", "events",
             ("not run: FAILED at download", "'Week 3 - Eigenvalues.mp4'", "All runs of this recording"),
             "failed-partition.png"),
        Page("failed, own asset", "Week 3 - Eigenvalues", "raw_video", "partitions",
             ("Failed", "View all historical events")),
    ]


def visit(url: str, partitions: dict[str, str], save: bool) -> list[tuple[Page, list[str], float]]:
    """Open each partition page in Chromium; returns the page, the expected texts missing, seconds taken."""
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.add_init_script("localStorage.setItem('communityNux', '\"1\"')")  # no "join the community" modal
        wait_for_code_location(page, url)
        for wanted in pages():
            started = time.monotonic()
            key = partitions[wanted.title]
            page.goto(f"{url}/assets/{wanted.asset}?view={wanted.view}&partition={key}", wait_until="networkidle")
            missing = until_shown(page, wanted.expect)
            if save and wanted.shot:
                SHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SHOTS / wanted.shot))
            if not missing and "All runs of this recording" in wanted.expect:
                missing += runs_link_lists_the_partitions_runs(page, key)
            results.append((wanted, missing, time.monotonic() - started))
        browser.close()
    return results


def wait_for_code_location(page: Any, url: str) -> None:
    """The webserver answers before the code location has loaded; asset pages read "External Asset" till then."""
    page.goto(f"{url}/locations", wait_until="networkidle")
    if until_shown(page, ("Loaded",), tries=240):
        raise RuntimeError("the leap code location did not load")


def until_shown(page: Any, expect: tuple[str, ...], tries: int = 60) -> list[str]:
    """The texts still missing from the page after polling it (the UI fills in over several requests)."""
    missing = list(expect)
    for _ in range(tries):
        text = page.inner_text("body")
        missing = [e for e in expect if e not in text]
        if not missing:
            break
        time.sleep(0.5)
    return missing


def runs_link_lists_the_partitions_runs(page: Any, partition: str) -> list[str]:
    """Follow the story's runs link: it must list runs, all of this partition."""
    page.get_by_role("link", name="All runs of this recording").first.click()
    missing = until_shown(page, ("recording_pipeline", partition))
    page.go_back(wait_until="networkidle")
    return [f"runs page: {m}" for m in missing]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=3931)
    parser.add_argument("--no-screenshots", action="store_true", help="check the pages, save nothing")
    parser.add_argument("--keep", action="store_true", help="leave the webserver running until Ctrl-C")
    parser.add_argument("--base", type=Path, help="work here and reuse its prepared runs (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leap-ui-") as tmp:
        base = args.base or Path(tmp)
        started = time.monotonic()
        prepared_file = base / "partitions.json"
        if prepared_file.exists():
            os.environ.update({"LEAP_HOME": str(base / "leap"), "DAGSTER_HOME": str(base / "dagster")})
            partitions = json.loads(prepared_file.read_text())
        else:
            partitions = prepare(base)
            prepared_file.write_text(json.dumps(partitions))
        prepared = time.monotonic() - started
        with webserver(base, args.port) as url:
            results = visit(url, partitions, save=not args.no_screenshots)
            print("| page | asset | found | missing | s |\n|---|---|---|---|---|")
            for page, missing, seconds in results:
                found = len(page.expect) - len(missing)
                print(f"| {page.name} | {page.asset} | {found}/{len(page.expect)} | {', '.join(missing) or '-'} "
                      f"| {seconds:.1f} |")
            print(f"\npipeline runs {prepared:.1f} s; total {time.monotonic() - started:.1f} s")
            for page in pages():
                if page.shot and not args.no_screenshots:
                    print(f"{SHOTS / page.shot}: {(SHOTS / page.shot).stat().st_size // 1024} KB")
            if args.keep:
                print(f"webserver: {url} (Ctrl-C to stop)")
                try:
                    while True:
                        time.sleep(3600)
                except KeyboardInterrupt:
                    pass
        return 0 if all(not missing for _, missing, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
