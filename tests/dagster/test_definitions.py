"""The Dagster definitions load and name what DESIGN.md promises."""

from __future__ import annotations

from itertools import pairwise

from dagster import AssetKey, DynamicPartitionsDefinition

from leap_dagster.definitions import defs

STAGES = ["raw_video", "trimmed_video", "transcript", "topics", "subtitles", "exported_video"]


def test_every_stage_is_an_asset_on_the_recordings_partitions() -> None:
    graph = defs.resolve_asset_graph()
    for name in STAGES:
        node = graph.get(AssetKey(name))
        assert isinstance(node.partitions_def, DynamicPartitionsDefinition)
        assert node.partitions_def.name == "recordings"


def test_the_stages_form_one_chain() -> None:
    graph = defs.resolve_asset_graph()
    for upstream, downstream in pairwise(STAGES):
        assert AssetKey(upstream) in graph.get(AssetKey(downstream)).parent_keys


def test_sensors_sync_launch_and_catch_failures() -> None:
    names = {s.name for s in defs.get_repository_def().sensor_defs}
    assert names >= {"source_sync_sensor", "launcher_sensor", "recording_failure_sensor"}
