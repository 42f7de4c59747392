"""`leap search QUERY`: the moments in your lectures where the query is said, with links that open them."""

from __future__ import annotations

from typing import Any

import typer

from leap_core.cli import context
from leap_core.cli.output import JsonOption, emit, emit_json


def search(
    query: str = typer.Argument(..., help='Words to find; "quotes" keep a phrase together.'),
    limit: int = typer.Option(20, "--limit", help="At most this many moments (1-200)."),
    as_json: bool = JsonOption,
) -> None:
    """Search inside your recordings' transcripts: best moments first, with deep links."""
    found = context.me().search(query, limit=limit)
    if as_json:
        emit_json(found)
        return
    emit(_rows(found), False, ["time", "recording", "chapter", "text", "link"])


def _rows(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One table row per moment; the link shown is the first published one (YouTube, VK, then the file)."""
    rows = []
    for recording in found:
        for moment in recording["moments"]:
            links = moment["links"]
            link = next((links[p] for p in ("youtube", "vk", "local") if p in links), None)
            rows.append({"time": moment["time"], "recording": recording["title"], "chapter": moment["chapter"],
                         "text": moment["text"], "link": link})
    return rows


def register(app: typer.Typer) -> None:
    app.command("search")(search)
