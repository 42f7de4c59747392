"""The Dagster definitions load and name what DESIGN.md promises."""

from __future__ import annotations

import os
import subprocess
import sys
from itertools import pairwise

import pytest
from dagster import AssetKey, DynamicPartitionsDefinition

from leap_core.config import get_settings
from leap_core.errors import ConfigurationError
from leap_dagster.definitions import defs
from leap_dagster.jobs import pipeline_executor

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


def test_the_distributed_profile_sends_launcher_runs_through_celery(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAP_EXECUTOR", "celery")
    assert pipeline_executor(get_settings()).name == "leap_celery_from_env"
    monkeypatch.setenv("LEAP_EXECUTOR", "in_process")
    assert pipeline_executor(get_settings()).name == "in_process"


def test_the_distributed_profile_sends_automation_runs_through_celery_like_the_launchers() -> None:
    """The choice is made when the code location loads, so a fresh process loads it with LEAP_EXECUTOR set."""
    show = ("from leap_dagster.definitions import defs; "
            "print(*(defs.resolve_job_def(j).executor_def.name for j in ('recording_pipeline', 'automation_run')))")
    for executor, expected in (("celery", "leap_celery_from_env"), ("in_process", "in_process")):
        done = subprocess.run([sys.executable, "-c", show], env={**os.environ, "LEAP_EXECUTOR": executor},
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == [expected, expected]


def test_a_bad_executor_name_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAP_EXECUTOR", "threads")
    with pytest.raises(ConfigurationError) as raised:
        get_settings()
    assert str(raised.value) == "bad setting LEAP_EXECUTOR='threads': Input should be 'in_process' or 'celery'"


def test_a_code_location_with_a_bad_setting_fails_to_load_naming_it() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAP_")} | {"LEAP_WHISPER_THREADS": "many"}
    done = subprocess.run([sys.executable, "-c", "import leap_dagster.definitions"], env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == (
        "leap_core.errors.ConfigurationError: bad setting LEAP_WHISPER_THREADS='many': "
        "Input should be a valid integer, unable to parse string as an integer")
