"""How every `leap` command prints: a human table on a terminal, JSON with `--json`, one-line errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from leap_core.errors import LeapError

JsonOption = typer.Option(False, "--json", help="Print JSON for scripts instead of a table.")


def _default(value: object) -> object:
    """JSON has no datetimes, enums or paths; print them the way a person would type them back."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit_json(payload: object) -> None:
    typer.echo(json.dumps(payload, default=_default, indent=2, ensure_ascii=False))


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def render_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A plain aligned table: readable in a terminal and in a CI log, with no extra dependency."""
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max([len(col), *(len(r[i]) for r in cells)]) for i, col in enumerate(columns)]
    lines = ["  ".join(col.upper().ljust(w) for col, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def emit(payload: object, as_json: bool, columns: Sequence[str] | None = None) -> None:
    """Print rows (a list of dicts) or one record (a dict) as JSON or as a table."""
    if as_json:
        emit_json(payload)
        return
    if isinstance(payload, Mapping):
        width = max((len(k) for k in payload), default=0)
        for key, value in payload.items():
            shown = json.dumps(value, default=_default) if isinstance(value, list | dict) else _cell(value)
            typer.echo(f"{key.ljust(width)}  {shown}")
        return
    rows = list(payload) if isinstance(payload, Sequence) else []
    if not rows:
        typer.echo("(none)")
        return
    typer.echo(render_table(rows, columns or list(rows[0].keys())))


def fail(message: str) -> typer.Exit:
    """One line on stderr and exit code 1: the CLI's contract for a bad input or a refused action."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


@contextmanager
def reported_errors(debug: bool = False) -> Iterator[None]:
    """Turn a LeapError into the one-line exit-1 contract when a command runs outside the `leap` group."""
    try:
        yield
    except LeapError as exc:
        if debug:
            raise
        raise fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


def progress_enabled(as_json: bool) -> bool:
    """Progress bars only on an interactive terminal, never in JSON mode or when piped."""
    return not as_json and sys.stderr.isatty()


ProgressCallback = Callable[[float], None]
