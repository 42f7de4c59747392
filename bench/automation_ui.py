"""What the Dagster UI's Automation page looks like with N automation jobs (one schedule each).

    .venv/bin/python bench/automation_schedules.py --jobs 1000 --keep    # makes leap_bench_schedules_1000
    .venv/bin/python bench/automation_ui.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/leap_bench_schedules_1000

Starts `dagster dev` on that LEAP database (a temporary DAGSTER_HOME), opens the Automation page in
headless Chromium through Playwright (`--chromium` names the browser binary; Debian's `chromium` package
is the default), and prints how long the list took to show and how many rows a search by owner leaves.
Screenshots go to --out (the full list, then the list filtered to one owner); keep one under docs/ only if
it is small.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_location(url: str, timeout_s: float = 300) -> float:
    began = time.monotonic()
    query = json.dumps({"query": '{ schedulesOrError(repositorySelector: {repositoryLocationName: "leap", '
                                 'repositoryName: "__repository__"}) { ... on Schedules { results { name } } } }'})
    while time.monotonic() - began < timeout_s:
        try:
            request = urllib.request.Request(f"{url}/graphql", data=query.encode(),
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as response:
                results = json.loads(response.read())["data"]["schedulesOrError"].get("results")
            if results:
                return len(results)
        except OSError:
            pass
        time.sleep(2)
    raise SystemExit("dagster dev did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--out", type=Path, default=Path("/tmp/leap-automation-ui"))
    parser.add_argument("--owner", default="user0042", help="the user slug to filter the list by")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "dagster-home"
        home.mkdir()
        shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
        (Path(tmp) / "workspace.yaml").write_text(
            f"load_from:\n  - python_module:\n      module_name: leap_dagster.definitions\n"
            f"      location_name: leap\n      working_directory: {REPO}\n")
        env = {**os.environ, "DAGSTER_HOME": str(home), "LEAP_DATABASE_URL": args.database_url,
               "LEAP_HOME": str(Path(tmp) / "leap-home"), "LEAP_DAGSTER_WEBSERVER_URL": url}
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster"), "dev", "-w", str(Path(tmp) / "workspace.yaml"),
             "-h", "127.0.0.1", "-p", str(port)], cwd=tmp, env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            schedules = wait_for_location(url)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                began = time.monotonic()
                page.goto(f"{url}/automation", wait_until="domcontentloaded")
                page.get_by_text("user0000__job_00").first.wait_for(timeout=180_000)
                shown_s = time.monotonic() - began
                skip = page.get_by_role("button", name="Skip")  # the first-visit "join the community" dialog
                if skip.count():
                    skip.first.click()
                page.wait_for_timeout(20000)  # each row's status and next tick load after the list
                page.screenshot(path=str(args.out / "automation-all.png"))
                box = page.get_by_text("Search and filter automations").first.bounding_box()  # a styled div
                page.mouse.click((box or {"x": 700})["x"] + 40, (box or {"y": 70})["y"] + 8)
                page.keyboard.type(args.owner)
                page.wait_for_timeout(1000)
                page.screenshot(path=str(args.out / "automation-typing.png"))
                page.keyboard.press("Enter")
                page.wait_for_timeout(5000)
                rows = page.get_by_text(f"{args.owner}__").count()
                page.screenshot(path=str(args.out / "automation-owner.png"))
                browser.close()
        finally:
            os.killpg(server.pid, 15)
            server.wait(60)
    print("| schedules in the location | Automation page: first row shown s | rows after a search by owner |")
    print("|---|---|---|")
    print(f"| {schedules:,} | {shown_s:.1f} | {rows} ({args.owner}) |")
    for name in ("automation-all.png", "automation-owner.png"):
        print(f"{args.out / name}: {(args.out / name).stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
