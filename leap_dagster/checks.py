"""Asset checks: the stored outputs re-read and held to what their materialisation claimed."""

import warnings
from itertools import pairwise
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetRecordsFilter,
    AssetsDefinition,
    MetadataValue,
    PreviewWarning,
    asset_check,
)

from leap_core.errors import LeapError
from leap_core.speech.chapters import validate_chapters
from leap_core.speech.checks import subtitle_problems
from leap_core.speech.topic_models import Topics
from leap_core.speech.transcript import Transcript
from leap_dagster.assets.media import trimmed_video
from leap_dagster.assets.speech import subtitles, topics, transcript
from leap_dagster.partitions import recordings

# Partitioned checks are a Dagster preview feature LEAP relies on knowingly (one check result per
# recording); its warning would otherwise be printed by every code server and run worker start.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=PreviewWarning)


def _materialised(context: AssetCheckExecutionContext, asset: AssetsDefinition) -> dict[str, Any] | None:
    """The metadata of this partition's latest materialisation: where the file is and what it should hold."""
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=asset.key, asset_partitions=[context.partition_key]), limit=1
    ).records
    materialization = records[0].asset_materialization if records else None
    if materialization is None:
        return None
    return {key: value.value for key, value in materialization.metadata.items()}


@asset_check(
    asset=trimmed_video, partitions_def=recordings,
    description="The stored trimmed file lasts as long as its kept spans (within one frame) and its audio "
                "and video start within one frame of each other.",
)
def trimmed_video_matches_its_cut_list(context: AssetCheckExecutionContext) -> AssetCheckResult:
    metadata = _materialised(context, trimmed_video)
    if metadata is None or not metadata.get("output_path"):
        return AssetCheckResult(passed=False, metadata={"error": "no trimmed file was recorded for this partition"})
    path = Path(str(metadata["output_path"]))
    kept = [(float(start), float(end)) for start, end in metadata.get("kept") or []]
    from leap_core.media.verify import check_trimmed  # deferred with PyAV: keeps run-worker start-up fast

    try:
        result = check_trimmed(path, kept)
    except LeapError as exc:
        return AssetCheckResult(passed=False, metadata={"error": str(exc), "path": MetadataValue.path(str(path))})
    measured: dict[str, Any] = {**result.to_dict(), "kept_spans": len(kept), "path": MetadataValue.path(str(path))}
    return AssetCheckResult(
        passed=result.passed,
        metadata=measured,
        description=None if result.passed else _failure(result.duration_matches, result.in_sync),
    )


def _failure(duration_matches: bool, in_sync: bool) -> str:
    problems = [] if duration_matches else ["duration differs from the kept spans by more than a frame"]
    problems += [] if in_sync else ["audio and video start more than a frame apart"]
    return "; ".join(problems)


def _stored_transcript(context: AssetCheckExecutionContext) -> Transcript | None:
    metadata = _materialised(context, transcript)
    path = Path(str(metadata["path"])) if metadata and metadata.get("path") else None
    return Transcript.model_validate_json(path.read_text()) if path and path.exists() else None


MISSING = AssetCheckResult(passed=False, metadata={"error": "no stored output was recorded for this partition"})


@asset_check(
    asset=transcript, partitions_def=recordings,
    description="The stored transcript is not empty and its segments run forward in time.",
)
def transcript_has_speech_in_order(context: AssetCheckExecutionContext) -> AssetCheckResult:
    stored = _stored_transcript(context)
    if stored is None:
        return MISSING
    starts = [s.start for s in stored.segments]
    ordered = all(a <= b for a, b in pairwise(starts)) and all(s.start <= s.end for s in stored.segments)
    return AssetCheckResult(
        passed=bool(stored.segments) and ordered,
        metadata={"segments": len(stored.segments), "words": stored.word_count, "ordered": ordered},
        description=None if stored.segments and ordered else "the transcript is empty or out of order",
    )


@asset_check(
    asset=transcript, partitions_def=recordings, blocking=True,
    description="Integrity gate (ADR 0038): no cue over non-speech, no loop or boilerplate, >= 98 % of the VAD's "
                "speech seconds covered, the last cue within 5 s of the last speech. Blocking: a failure stops "
                "the run before topics, subtitles and publishing.",
)
def transcript_covers_the_speech(context: AssetCheckExecutionContext) -> AssetCheckResult:
    metadata = _materialised(context, transcript)
    stored = _stored_transcript(context)
    speech_file = Path(str(metadata["path"])).with_name("speech.json") if metadata and metadata.get("path") else None
    if metadata is None or stored is None or speech_file is None or not speech_file.exists():
        return MISSING
    from leap_core.speech.gate import apply_gate, read_speech

    judged = apply_gate(stored, read_speech(speech_file)).report
    return AssetCheckResult(
        passed=judged.passed and not judged.dropped,
        metadata={"coverage_pct": round(judged.coverage_pct, 2), "speech_seconds": round(judged.speech_seconds, 2),
                  "dropped_cues": int(metadata.get("dropped_cues") or 0),
                  "repaired_spans": int(metadata.get("repaired_spans") or 0),
                  "ends_with_the_speech": judged.ends_with_the_speech},
        description=None if judged.passed and not judged.dropped else judged.reason(),
    )


@asset_check(
    asset=topics, partitions_def=recordings,
    description="Chapters follow YouTube's rules (first at 0:00, at least three, ascending, each >= 10 s), "
                "or are omitted with a reason.",
)
def chapters_follow_youtube_rules(context: AssetCheckExecutionContext) -> AssetCheckResult:
    metadata = _materialised(context, topics)
    stored = _stored_transcript(context)
    if metadata is None or stored is None or not Path(str(metadata.get("path"))).exists():
        return MISSING
    extracted = Topics.model_validate_json(Path(str(metadata["path"])).read_text())
    valid, note = validate_chapters(extracted.chapters, stored.duration)
    passed = valid == extracted.chapters and (bool(valid) or bool(extracted.chapters_note or note))
    return AssetCheckResult(
        passed=passed, metadata={"chapters": len(extracted.chapters), "note": extracted.chapters_note or note or ""},
        description=None if passed else "the stored chapters break YouTube's rules",
    )


@asset_check(
    asset=subtitles, partitions_def=recordings,
    description="Both subtitle files parse with standard readers and every cue ends within the video.",
)
def subtitles_parse_within_the_video(context: AssetCheckExecutionContext) -> AssetCheckResult:
    metadata = _materialised(context, subtitles)
    stored = _stored_transcript(context)
    if metadata is None or stored is None:
        return MISSING
    problems = subtitle_problems(Path(str(metadata["srt"])), Path(str(metadata["vtt"])), stored.duration)
    return AssetCheckResult(
        passed=not problems, metadata={"cues": metadata.get("cues", 0), "problems": len(problems)},
        description="; ".join(problems[:5]) or None,
    )


ALL_CHECKS = [
    trimmed_video_matches_its_cut_list,
    transcript_has_speech_in_order,
    transcript_covers_the_speech,
    chapters_follow_youtube_rules,
    subtitles_parse_within_the_video,
]
