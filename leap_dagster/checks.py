"""Asset checks: the stored outputs re-read and held to what their materialisation claimed."""

from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetRecordsFilter,
    MetadataValue,
    asset_check,
)

from leap_core.errors import LeapError
from leap_core.media.verify import check_trimmed
from leap_dagster.assets.media import trimmed_video
from leap_dagster.partitions import recordings


def _materialised(context: AssetCheckExecutionContext) -> dict[str, Any] | None:
    """The metadata of this partition's latest trimmed_video: where the file is and what it should hold."""
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=trimmed_video.key, asset_partitions=[context.partition_key]), limit=1
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
    metadata = _materialised(context)
    if metadata is None or not metadata.get("output_path"):
        return AssetCheckResult(passed=False, metadata={"error": "no trimmed file was recorded for this partition"})
    path = Path(str(metadata["output_path"]))
    kept = [(float(start), float(end)) for start, end in metadata.get("kept") or []]
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


ALL_CHECKS = [trimmed_video_matches_its_cut_list]
