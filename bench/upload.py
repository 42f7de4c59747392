"""Upload throughput and peak memory of the YouTube and VK publishers against loopback fakes.

Each upload runs in its own fresh process, so its peak RSS is the client's alone (the fake servers run in
this process and stream bodies into a counter). The reference is a bare `requests` POST streaming the same
file to the same loopback server: the ratio shows what each publisher's protocol costs over the wire speed.

    /tmp/venv/bin/python bench/upload.py              # 2 GB file (the goal: peak RSS <= 200 MB)
    /tmp/venv/bin/python bench/upload.py --size-mb 256
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests

from leap_core.publishing.base import PublishRequest
from leap_core.publishing.vk import VkPublisher
from leap_core.publishing.youtube import DEFAULT_CHUNK_SIZE, YouTubePublisher
from tests.fakes.vk import FakeVK
from tests.fakes.youtube import FakeYouTube

MIB = 1024 * 1024
RSS_GOAL_MB = 200


@dataclass(frozen=True)
class Run:
    name: str
    seconds: float
    bytes_sent: int
    peak_rss_mb: float


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def reference_upload(url: str, video: Path) -> tuple[float, int, float]:
    start = time.perf_counter()
    with video.open("rb") as stream:
        requests.post(url, data=stream, timeout=600).raise_for_status()
    return time.perf_counter() - start, video.stat().st_size, _peak_rss_mb()


def youtube_upload(credentials: dict[str, str], url: str, video: Path) -> tuple[float, int, float]:
    client = YouTubePublisher(
        credentials, root_url=url, token_uri=f"{url}/token", chunk_size=DEFAULT_CHUNK_SIZE
    )
    start = time.perf_counter()
    result = client.publish(PublishRequest(video, "bench"), resume_state=None, checkpoint=lambda state: None)
    return time.perf_counter() - start, result.bytes_sent, _peak_rss_mb()


def vk_upload(token: str, url: str, video: Path) -> tuple[float, int, float]:
    client = VkPublisher(token, api_url=url, group_id=1)
    start = time.perf_counter()
    result = client.publish(PublishRequest(video, "bench"), resume_state=None, checkpoint=lambda state: None)
    return time.perf_counter() - start, result.bytes_sent, _peak_rss_mb()


def in_fresh_process(name: str, job: Callable[..., tuple[float, int, float]], *args: object) -> Run:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        seconds, sent, rss = pool.submit(job, *args).result()
    return Run(name, seconds, sent, rss)


def make_video(directory: Path, size_mb: int) -> Path:
    path = directory / "bench.mp4"
    block = os.urandom(MIB)
    with path.open("wb") as out:
        for _ in range(size_mb):
            out.write(block)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=2048, help="size of the uploaded file (default 2048)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeYouTube() as youtube, FakeVK() as vk:
        video = make_video(Path(tmp), args.size_mb)
        runs = [
            in_fresh_process(
                "reference (requests POST)", reference_upload, f"{vk.url}/upload/video?vid=1_1", video
            ),
            in_fresh_process(
                "YouTube (resumable, 8 MiB chunks)", youtube_upload, youtube.credentials(), youtube.url, video
            ),
            in_fresh_process("VK (streamed multipart)", vk_upload, vk.token, vk.url, video),
        ]
    reference = runs[0].bytes_sent / runs[0].seconds
    print(f"file: {args.size_mb} MiB; peak RSS goal <= {RSS_GOAL_MB} MB")
    print(f"{'upload':<36}{'seconds':>9}{'MiB/s':>9}{'vs ref':>8}{'peak RSS MB':>13}{'goal':>6}")
    for run in runs:
        rate = run.bytes_sent / run.seconds
        verdict = "ok" if run.peak_rss_mb <= RSS_GOAL_MB else "OVER"
        print(
            f"{run.name:<36}{run.seconds:>9.2f}{rate / MIB:>9.1f}{rate / reference:>8.2f}"
            f"{run.peak_rss_mb:>13.1f}{verdict:>6}"
        )


if __name__ == "__main__":
    main()
