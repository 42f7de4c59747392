"""`Pipeline`: one method per asset, so the Dagster layer is a thin call and another orchestrator could drive it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from leap_core import accounting, attempts, audit, cleanup, retention, story
from leap_core.audit import Actor
from leap_core.config import Settings
from leap_core.db.models import OutputTarget, Recording, Source, User
from leap_core.db.session import Database
from leap_core.errors import NotFoundError, StageError
from leap_core.pipeline import work
from leap_core.pipeline.runner import StageInput, StageOutcome, StageOutput, StageRunner, load
from leap_core.publishing import maintenance
from leap_core.publishing.local_export import export_recording, staging_folder
from leap_core.publishing.platforms import PlatformPublish
from leap_core.publishing.targets import Published, TargetOutcome, TargetRunner
from leap_core.reconcile import fail_in_flight
from leap_core.search import index as search_index
from leap_core.sources.base import SourceClient
from leap_core.sources.sync import open_client
from leap_core.stages import DOWNLOAD, SUBTITLES, TOPICS, TRANSCRIBE, TRIM
from leap_core.states import IN_FLIGHT
from leap_core.storage import recording_files
from leap_core.story import Story


class Pipeline:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.stages = StageRunner(settings, db)
        self.targets = TargetRunner(settings, db)

    def recording_id_for(self, partition_key: str) -> str:
        with self.db.session() as session:
            recording_id = session.scalar(select(Recording.id).where(Recording.partition_key == partition_key))
        if recording_id is None:
            raise NotFoundError(f"no recording has partition key {partition_key!r}")
        return recording_id

    def story(self, recording_id: str) -> Story:
        """LEAP's state of the recording in words, for the orchestrator's UI (leap_core.story)."""
        with self.db.session() as session:
            return story.tell(session, recording_id)

    def download(self, recording_id: str, run_id: str | None = None) -> StageOutcome:
        def fetch(stage_input: StageInput) -> StageOutput:
            with self.db.session() as session:
                source = session.get(Source, stage_input.source_id) if stage_input.source_id else None
                if source is None:
                    raise StageError(DOWNLOAD.name, "the recording's source no longer exists")
                client = open_client(session, source, self.settings)
            output = work.download(stage_input, client)
            if (stage_input.template.get("retention") or {}).get("delete_source_after_download"):
                output.metadata["source_copy"] = self._trash_source_copy(stage_input, client, output)
            return output

        return self.stages.run(recording_id, DOWNLOAD, fetch, run_id)

    def _trash_source_copy(self, stage_input: StageInput, client: SourceClient, output: StageOutput) -> dict[str, Any]:
        """The template's Zoom clean-up after a verified download, audited whatever its result."""
        result = retention.trash_source_copy(client, work.source_file(stage_input),
                                             int(output.metadata.get("bytes", -1)))
        with self.db.session() as session:
            recording = session.get(Recording, stage_input.recording_id)
            if recording is not None:
                audit.record(session, Actor("pipeline", origin="run"), "source.trash_copy", "recording",
                             recording.id, user_id=recording.user_id, details=result,
                             result="success" if result["result"] == "trashed" else "failure")
        return result

    def trim(self, recording_id: str, run_id: str | None = None) -> StageOutcome:
        return self.stages.run(recording_id, TRIM, work.trim_silence, run_id)

    def warm_transcriber(self) -> None:
        work.warm_transcriber(self.settings)

    def transcribe(self, recording_id: str, run_id: str | None = None) -> StageOutcome:
        return self.stages.run(recording_id, TRANSCRIBE, work.transcribe, run_id)

    def topics(self, recording_id: str, run_id: str | None = None) -> StageOutcome:
        return self.stages.run(recording_id, TOPICS, work.topics, run_id)

    def subtitles(self, recording_id: str, run_id: str | None = None) -> StageOutcome:
        """Subtitles, then the search index: the stage that has the transcript and the chapters both."""
        outcome = self.stages.run(recording_id, SUBTITLES, work.subtitles, run_id)
        if outcome.status == "completed":
            outcome.metadata["search_cues"] = self.index_for_search(recording_id)
        return outcome

    def index_for_search(self, recording_id: str) -> int:
        """(Re-)index the recording's cues from its transcript and topics files; returns how many."""
        with self.db.session() as session:
            recording = load(session, recording_id)
            user = session.get_one(User, recording.user_id)
            files = recording_files(self.settings.resolved_storage_dir, user.slug, recording.id, recording.extension)
            return search_index.index_recording(session, recording, files)

    def export_local(self, recording_id: str, run_id: str | None = None) -> TargetOutcome:
        export_root = self.settings.resolved_export_dir

        def publish(stage_input: StageInput, _target: OutputTarget) -> Published:
            folder = f"{stage_input.user_slug}/{stage_input.recording_id}"
            metadata = {"title": stage_input.title, "recording_id": stage_input.recording_id,
                        "source": stage_input.source_name, "template": stage_input.template.get("name")}
            final = export_recording(stage_input.files, work.trimmed_media(stage_input), export_root, folder, metadata,
                                     self.settings)
            counted = self._account_export(stage_input.recording_id)
            return Published(video_id=folder, url=final.as_uri(), metadata={"path": str(final), **counted})

        def refresh(stage_input: StageInput, target: OutputTarget, _changed: list[str]) -> dict[str, Any]:
            """The export folder is rewritten whole from the regenerated files (transcript, subtitles, video)."""
            return {**publish(stage_input, target).metadata, "refreshed": ["video", "subtitles", "transcript",
                                                                            "topics", "metadata"]}

        return self.targets.run(recording_id, "local", publish, run_id, refresh=refresh)

    def _account_export(self, recording_id: str) -> dict[str, int]:
        """The export copy is the user's storage too: counted as soon as it is written (ADR 0027)."""
        with self.db.session() as session:
            recording = load(session, recording_id)
            session.refresh(recording, with_for_update=True)  # sibling targets settle the same row meanwhile
            user = session.get_one(User, recording.user_id)
            disk = accounting.recording_disk(self.settings, user.slug, recording)
            exported = disk.export_bytes()
            accounting.settle_storage(session, recording, disk.storage_bytes() + exported)
        return {"size_bytes": exported}

    def publish(self, recording_id: str, platform: str, run_id: str | None = None) -> TargetOutcome:
        """Publish to YouTube or VK with the credential the template names, resuming a stored upload; a
        published video whose outputs were regenerated gets their metadata and captions instead."""
        step = PlatformPublish(platform, self.settings, self.db, self.targets.checkpoint)

        def refresh(stage_input: StageInput, target: OutputTarget, changed: list[str]) -> dict[str, Any]:
            return maintenance.refresh(self.db, self.settings, stage_input, target, changed)

        return self.targets.run(recording_id, platform, step, run_id, refresh=refresh)

    def mark_run_died(self, recording_id: str, run_id: str, reason: str) -> bool:
        """A run ended without its stage saying so (killed worker, crash): FAILED at the stage it was in.

        Only the run that owns the recording's current attempt fails it; an older run's death (the one a
        retry replaced) is audited as a late event and changes nothing. The dead run's partial files (a
        `.part` download, a trim work folder, an export staging folder) are removed at once, not left
        for the sweep's five-minute age guard.
        """
        with self.db.session() as session:
            recording = load(session, recording_id)
            if recording.status not in IN_FLIGHT:
                return False
            if not attempts.owns(recording, run_id):
                attempts.record_late_event(session, recording, run_id, "run died", {"error": reason})
                return False
            fail_in_flight(session, recording, reason, Actor("pipeline", origin="sensor", run_id=run_id))
            slug, extension = session.get_one(User, recording.user_id).slug, recording.extension
        files = recording_files(self.settings.resolved_storage_dir, slug, recording_id, extension)
        export = accounting.export_folder(self.settings.resolved_export_dir, slug, recording_id)
        cleanup.remove_strays_of(files.root, staging_folder(export))
        return True
