"""Every filesystem path LEAP reads from a user's folder or writes to: built here, and checked to stay put.

Two kinds of path come from outside LEAP. A platform or a file names parts of the paths LEAP *writes*
(a Zoom `file_extension`, a user slug, a recording id): each part is sanitised, joined under its root
(storage, export) and the result is resolved and refused unless it is still inside that root. A user
names the folder LEAP *reads* (a local source): it must resolve inside a root an admin allows
(`LEAP_LOCAL_SOURCE_ROOTS`, plus the inbox), and may not overlap LEAP's own storage or export, nor
another user's local source — otherwise one sync would register someone else's videos as the caller's.
Resolving before comparing is what defeats symlinks: a link is judged by where it leads.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from pathlib import Path

from leap_core.errors import ValidationError

MAX_PART_LENGTH = 128
MAX_EXTENSION_LENGTH = 8
DEFAULT_EXTENSION = "bin"
_SAFE_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_NOT_EXTENSION = re.compile(r"[^a-z0-9]")


class PathEscapeError(ValidationError):
    """A path would leave the folder it belongs to, or a folder is not one LEAP may read."""


def safe_part(value: str, what: str = "path part") -> str:
    """One path component as given, or a refusal: no separators, no `..`, no leading dot, bounded length."""
    if len(value) > MAX_PART_LENGTH or not _SAFE_PART.fullmatch(value) or ".." in value:
        raise PathEscapeError(f"{what} {value[:40]!r} cannot name a file or folder")
    return value


def safe_extension(value: str | None) -> str:
    """A file extension reduced to lowercase letters and digits (at most 8): a platform's value is never
    trusted to name a file. Media is probed by content, so a mangled extension costs nothing."""
    cleaned = _NOT_EXTENSION.sub("", (value or "").lower())[:MAX_EXTENSION_LENGTH]
    return cleaned or DEFAULT_EXTENSION


def is_within(path: Path, root: Path) -> bool:
    """Both resolved: True when `path` is `root` or below it, wherever symlinks on the way lead."""
    return path.resolve().is_relative_to(root.resolve())


def check_inside(root: Path, path: Path, what: str = "path") -> Path:
    """`path` unchanged if it resolves inside `root`; a PathEscapeError otherwise."""
    if not is_within(path, root):
        raise PathEscapeError(f"{what} {path.name!r} would be written outside {root}")
    return path


def inside(root: Path, *parts: str) -> Path:
    """`root/part/part…` from sanitised parts, checked to resolve inside `root`."""
    base = root.expanduser().resolve()
    return check_inside(base, base.joinpath(*(safe_part(p) for p in parts)))


def overlaps(a: Path, b: Path) -> bool:
    """One folder is the other or contains it (both already resolved)."""
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


class FolderIndex:
    """Other users' local-source folders, resolved once, answering "does any overlap this folder?" in
    O(depth + log n) instead of a comparison per folder.

    Why: the sync tick checks every local source against every other user's before listing it; with a
    scan that is O(sources²) path resolutions a tick (1,000 sources: seconds). Overlap of resolved,
    absolute paths is lexical, so an ancestor is a dictionary hit and a descendant a prefix in a sorted
    list. Owners are kept so one index serves every user of a tick (a user's own folders never conflict).
    """

    def __init__(self, folders: Iterable[tuple[Path, str]]) -> None:
        self._owners: dict[str, set[str]] = {}
        for folder, owner in folders:
            self._owners.setdefault(str(Path(folder).resolve()), set()).add(owner)
        self._sorted = sorted(self._owners)

    def overlaps(self, folder: Path, owner: str) -> bool:
        """Whether `folder` (resolved) is, contains or is inside a folder of someone other than `owner`."""
        if any(self._owners.get(str(up), {owner}) - {owner} for up in (folder, *folder.parents)):
            return True
        prefix = str(folder) if str(folder).endswith("/") else f"{folder}/"
        at = bisect_left(self._sorted, prefix)
        while at < len(self._sorted) and self._sorted[at].startswith(prefix):
            if self._owners[self._sorted[at]] - {owner}:
                return True
            at += 1
        return False


def confine_local_source(
    path: Path, roots: Iterable[Path], reserved: Mapping[str, Path],
    others: Iterable[Path] | FolderIndex, owner: str = "",
) -> Path:
    """The resolved folder a local source may read, or a PathEscapeError saying why it may not.

    `roots`: the folders an admin allows; `reserved`: LEAP's own folders by name (storage, export);
    `others`: other users' local sources, or a FolderIndex of everyone's with `owner` the caller.
    Nothing is created here: a refused path leaves no trace.
    """
    given = path.expanduser().absolute()
    folder = given.resolve()
    via = f" (it resolves to {folder} through a symlink)" if folder != given else ""
    allowed = [r.expanduser().resolve() for r in roots]
    if not any(folder.is_relative_to(root) for root in allowed):
        shown = ", ".join(str(r) for r in allowed) or "none"
        raise PathEscapeError(f"{path} is outside the folders allowed for local sources{via}; allowed: {shown} "
                              "(an admin sets LEAP_LOCAL_SOURCE_ROOTS)")
    for name, own in reserved.items():
        if overlaps(folder, own.expanduser().resolve()):
            raise PathEscapeError(f"{path} overlaps LEAP's {name} folder{via}; choose a folder of your own")
    index = others if isinstance(others, FolderIndex) else FolderIndex((Path(o), "\0other") for o in others)
    if index.overlaps(folder, owner):
        raise PathEscapeError(f"{path} overlaps another user's local source{via}; choose a folder of your own")
    return folder
