"""`leap media`: probe and trim one file, for a user checking a recording outside the pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from leap_core.cli.output import JsonOption, emit, progress_enabled, reported_errors
from leap_core.media.probe import probe as probe_file
from leap_core.media.trim import TrimConfig
from leap_core.media.trim import trim as trim_file

app = typer.Typer(help="Inspect and trim single media files (no database needed).", no_args_is_help=True)

TRIM_KEYS = ("status", "speech_start", "speech_end", "kept", "input_duration", "output_duration",
             "speech_ratio", "method", "method_reason", "output_path", "audio_tracks_used", "audio_track_reason",
             "audio_copied", "audio_fade_ms", "loudness_before_lufs", "loudness_before_true_peak_db",
             "loudness_after_lufs", "loudness_after_true_peak_db", "loudness_gain_db", "loudness_applied",
             "loudness_reason")


@app.command()
def probe(
    file: Path = typer.Argument(..., help="Media file to describe."),
    as_json: bool = JsonOption,
) -> None:
    """Show duration, streams and codecs of FILE."""
    with reported_errors():
        emit(probe_file(file).to_dict(), as_json)


@app.command()
def trim(
    source: Path = typer.Argument(..., metavar="IN", help="Recording to trim."),
    target: Path = typer.Argument(..., metavar="OUT", help="Output file (audio-only input: OUT with .m4a)."),
    mode: str = typer.Option("head_tail", "--mode", help="head_tail or pauses (also cut long pauses)."),
    as_json: bool = JsonOption,
) -> None:
    """Cut IN to its speech and write OUT; a blank recording writes nothing and says so."""
    if mode not in ("head_tail", "pauses"):
        raise typer.BadParameter("must be head_tail or pauses", param_hint="--mode")
    chosen: Literal["head_tail", "pauses"] = "pauses" if mode == "pauses" else "head_tail"
    with reported_errors():
        config = TrimConfig(mode=chosen)
        if progress_enabled(as_json):
            with typer.progressbar(length=1000, label="trimming") as bar:
                result = trim_file(source, target, config, lambda f: bar.update(int(f * 1000) - bar.pos))
        else:
            result = trim_file(source, target, config)
        data = result.to_dict()
        emit({key: data[key] for key in TRIM_KEYS if key in data}, as_json)
