"""Bounded preset rendering: what the in-process budget costs an honest preset, against the alternatives.

Rows (same run, same preset, same context):
- plain: Jinja2's own SandboxedEnvironment, no limits (what LEAP had before issue 16);
- LEAP in-process: `leap_core.templates.render_preset` (budgeted sandbox, streamed output);
- subprocess per render: the same render in a forked child with RLIMIT_AS (+10 MB) and RLIMIT_CPU (1 s),
  result over a pipe — the design the ADR weighed and rejected;
- then each hostile case: time to refusal, and peak traced memory.

    python bench/presets.py --repeat 300
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from leap_core.preset_sandbox import PresetLimitError
from leap_core.templates import SAMPLE_CONTEXT, render_preset

HONEST = ("{{ title }} — {{ date }}\n\n{{ summary }}\n\n"
          "{% for c in chapters * 20 %}{{ c.timestamp }} {{ c.title|title }}\n{% endfor %}"
          "Topics: {{ topics|join(', ') }} · {{ duration_min }} min · {{ user|upper }}")
HOSTILE = {
    "nested range(99999)": "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
    "|center(500000000)": "{{ title|center(500000000) }}",
    "|indent(300000000)": "{{ title|indent(300000000) }}",
    "recursive macro": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "doubling by ~": "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
                     "{% endfor %}{{ ns.s|length }}",
    "slow within every size cap": "{% for i in range(9999) %}{% for j in range(10) %}"
                                  "{% set s = ('x' * 9999)|replace('x', 'yz') %}{% endfor %}{% endfor %}",
}
PLAIN = SandboxedEnvironment(undefined=StrictUndefined)


def plain(text: str) -> str:
    return PLAIN.from_string(text).render(SAMPLE_CONTEXT)


def _child(text: str, conn: Any) -> None:
    with open("/proc/self/statm") as statm:
        vm_bytes = int(statm.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (vm_bytes + 10 * 1024 * 1024,) * 2)
    resource.setrlimit(resource.RLIMIT_CPU, (1, 1))
    try:
        conn.send(plain(text))
    except BaseException as exc:
        conn.send(f"refused: {type(exc).__name__}")


def subprocess_render(text: str) -> str:
    parent, child = multiprocessing.Pipe(duplex=False)
    process = multiprocessing.get_context("fork").Process(target=_child, args=(text, child))
    process.start()
    ready = parent.poll(5)
    result = parent.recv() if ready else "refused: killed"
    process.kill()
    process.join()
    return str(result)


def per_render_ms(render: Callable[[str], str], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        render(HONEST)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    assert plain(HONEST).strip() == render_preset(HONEST, SAMPLE_CONTEXT)
    reference = per_render_ms(plain, args.repeat)
    rows = [("plain Jinja sandbox (reference, no limits)", reference),
            ("LEAP in-process budget", per_render_ms(lambda t: render_preset(t, SAMPLE_CONTEXT), args.repeat)),
            ("subprocess per render (fork + rlimits)", per_render_ms(subprocess_render, max(20, args.repeat // 10)))]
    print(f"honest preset ({len(plain(HONEST))} characters), median of {args.repeat} renders")
    print("| renderer | ms per render | x reference |\n|---|---|---|")
    for name, ms in rows:
        print(f"| {name} | {ms:.3f} | {ms / reference:.2f} |")
    print("\n| hostile preset | refused by | wall s | CPU s | peak traced MiB |\n|---|---|---|---|---|")
    for name, text in HOSTILE.items():
        tracemalloc.start()
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            render_preset(text, SAMPLE_CONTEXT)
            limit = "NOT REFUSED"
        except PresetLimitError as exc:
            limit = exc.limit
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(f"| {name} | {limit} | {wall:.3f} | {cpu:.3f} | {peak:.2f} |")


if __name__ == "__main__":
    main()
