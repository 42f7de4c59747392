"""Settings, read once from the environment.

Every knob LEAP has is here, so that `dagster dev` with no environment at all runs the embedded
default (SQLite, a local inbox, the bundled Whisper model, local export) and production only sets
variables. Endpoint overrides exist so a proxy, a regional host or a test server can stand in for a
platform; unset means the platform's real address.
"""

from __future__ import annotations

import os
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, create_model, field_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from leap_core.errors import ConfigurationError
from leap_core.home import default_home, recorded_dagster_home
from leap_core.pools import POOLS


class QuotaDefaults(BaseSettings):
    """`DEFAULT_QUOTAS`: what a user without a subscription gets (None = unlimited)."""

    model_config = SettingsConfigDict(env_prefix="LEAP_DEFAULT_", extra="ignore")

    max_recordings_per_month: int | None = None
    max_storage_gb: float | None = None
    max_concurrent_tasks: int | None = None
    max_automation_jobs: int | None = None
    min_automation_interval_hours: float | None = None


class _PoolLimitsBase(BaseSettings):
    # An empty LEAP_POOL_MEDIA= means "the table's default" (deploy/compose.yaml passes every one through).
    model_config = SettingsConfigDict(env_prefix="LEAP_POOL_", extra="ignore", env_ignore_empty=True)

    def as_dict(self) -> dict[str, int]:
        return {name: int(getattr(self, name)) for name in POOLS}


PoolLimits: type[_PoolLimitsBase] = create_model(  # one field per row of leap_core.pools.POOLS
    "PoolLimits", __base__=_PoolLimitsBase,
    **{name: (int, Field(default=pool.default_limit, ge=0)) for name, pool in POOLS.items()},  # type: ignore[call-overload]
)
"""`LEAP_POOL_<NAME>`: each concurrency pool's limit, defaulting to the table in leap_core.pools."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEAP_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    """LEAP_HOME, else the home `leap init` recorded, else the per-user data folder (leap_core.home)."""
    database_url: str | None = None
    storage_dir: Path | None = None
    export_dir: Path | None = None
    inbox_dir: Path | None = None
    local_source_roots: str = ""
    """Folders (separated like PATH, by `:` on Linux) under which users may add local sources; the inbox is one."""
    secret_key: str | None = Field(default=None, repr=False)
    actor: str | None = None
    dagster_home: str | None = Field(default=None, validation_alias="DAGSTER_HOME")
    """Dagster's own variable: where `leap init` and `leap admin pools` find the instance's pools (see
    `resolved_dagster_home` for the fallback `leap init` records)."""
    log_format: Literal["json", "text"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = None
    """Unset: INFO in the Dagster processes (a line per stage), WARNING in the `leap` CLI."""

    executor: Literal["in_process", "celery"] = "in_process"
    """How `recording_pipeline` runs its steps: in the run's process, or one Celery task per step."""
    celery_broker: str | None = Field(default=None, repr=False)
    celery_backend: str | None = Field(default=None, repr=False)
    celery_queue_prefix: str = ""
    """Namespaces the pool queues, so deployments (or test runs) can share one Redis."""
    pool_limits: _PoolLimitsBase = Field(default_factory=lambda: PoolLimits())
    default_quotas: QuotaDefaults = Field(default_factory=QuotaDefaults)

    transcriber: Literal["local", "openai"] = "local"
    topics_backend: Literal["local", "openai"] = "local"
    whisper_model: str | None = None
    whisper_threads: int = 0
    whisper_language: str = "en"
    """A language code, or `auto` (a vote over windows of speech); a template's `language` wins over it."""
    whisper_multilingual_model: str = "base"
    """For every language but English: `base` is the bundled multilingual model, else a model directory."""
    whisper_model_cache: Path | None = None
    glossary_hints: bool = True
    """Templates with a glossary, local backend: decode twice, plain and with the terms as hotwords, and keep
    a hinted term only where the guard in leap_core.speech.glossary_hints allows (ADR 0039)."""
    glossary_model: str = "base"
    """The English model for templates with a glossary while `glossary_hints` is on: the bundled multilingual
    `base` wrote more terms right than tiny.en (bench/README.md); `tiny.en` or a model directory also work."""
    """Where the bundled multilingual model is assembled on first use (default ~/.cache/leap/models)."""
    openai_base_url: str | None = None
    openai_transcribe_model: str = "whisper-1"
    openai_topics_model: str = "gpt-4o-mini"

    youtube_root_url: str | None = None
    google_token_uri: str | None = None
    vk_api_url: str | None = None
    zoom_api_url: str | None = None
    zoom_oauth_url: str | None = None
    yandex_disk_api_url: str | None = None
    youtube_chunk_size: int = 8 * 1024 * 1024
    youtube_quota_costs: dict[str, int] = Field(default_factory=dict)
    publish_max_retries: int = 5
    publish_backoff_s: float = 1.0
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_security: Literal["none", "starttls", "ssl"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_from: str = "LEAP <leap@localhost>"
    smtp_timeout_s: float = 10.0
    smtp_ca_file: Path | None = None
    webhook_timeout_s: float = 10.0
    webhook_allowed_networks: str = ""
    """CIDRs (comma-separated) that webhooks may reach although private, loopback or link-local."""
    # The Zoom webhook receiver (`leap webhooks serve`): where it listens, how old a signed request may be.
    webhooks_host: str = "127.0.0.1"
    webhooks_port: int = 8787
    zoom_webhook_tolerance_s: float = 300.0
    notify_max_attempts: int = 8
    notify_backoff_s: float = 30.0
    notify_backoff_max_s: float = 6 * 3600.0
    summary_timezone: str = "UTC"

    stale_run_minutes: int = 60
    reconcile_grace_seconds: float = 120.0
    """A recording is judged stranded only after resting this long untouched (a run may still be starting)."""
    reconcile_batch_size: int = 200
    intake_stable_seconds: float = 30.0
    """A listed file is taken only once its size and mtime (or checksum) have not changed for this long,
    measured from when the sync first saw them (wall time, not a count of scans)."""
    disk_margin_mb: float = 256.0
    """Free space a stage leaves on its filesystem beyond its own estimate (`leap_core.disk`)."""
    pending_source_timeout_hours: float = 24.0
    launcher_batch_size: int = 50
    launcher_partition_budget_s: float = 1.0
    """A launcher tick starts no new partition removal or re-addition after this long (Dagster removes one
    key at a time); the rest are applied first on the next tick (`leap_core.partition_changes`)."""
    retention_batch_size: int = 250
    sync_tick_budget_s: float = 1.5
    """A sync tick starts no new source listing after this long; the rest are listed first next tick."""
    source_sync_interval_s: float = 60.0
    local_sync_interval_s: float = 10
    launch_confirm_seconds: int = 120
    parked_max_attempts: int = 3
    dagster_webserver_url: str = "http://127.0.0.1:3000"
    """Where `automation_reload_sensor` asks for a code location reload when automation jobs change."""
    dagster_location: str = "leap"
    """The code location's name in the workspace (used when a sensor's context does not say)."""

    @field_validator("summary_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        """Checked here, once, rather than when the 07:00 schedule first ticks."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a known IANA time zone (e.g. Europe/Moscow)") from None
        return value

    @cached_property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def resolved_dagster_home(self) -> str | None:
        """DAGSTER_HOME, else the instance `leap init` recorded in this LEAP home (leap_core.home)."""
        return self.dagster_home or recorded_dagster_home(self.resolved_home)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.resolved_home / 'leap.db'}"

    @property
    def is_embedded(self) -> bool:
        """True when no database was configured: the embedded default may create and migrate itself."""
        return self.database_url is None

    @property
    def resolved_storage_dir(self) -> Path:
        return (self.storage_dir or self.resolved_home / "storage").expanduser().resolve()

    @property
    def resolved_export_dir(self) -> Path:
        return (self.export_dir or self.resolved_home / "export").expanduser().resolve()

    @property
    def resolved_inbox_dir(self) -> Path:
        return (self.inbox_dir or self.resolved_home / "inbox").expanduser().resolve()

    @property
    def allowed_local_source_roots(self) -> list[Path]:
        """LEAP_LOCAL_SOURCE_ROOTS resolved, plus the inbox: the only folders a local source may be under."""
        given = [Path(p) for p in self.local_source_roots.split(os.pathsep) if p.strip()]
        return [p.expanduser().resolve() for p in given] + [self.resolved_inbox_dir]

    @property
    def leap_folders(self) -> dict[str, Path]:
        """The folders LEAP itself writes, which no local source may overlap."""
        return {"storage": self.resolved_storage_dir, "export": self.resolved_export_dir}

    @property
    def secret_keys(self) -> list[str]:
        """Newest first; older keys still decrypt, so a key can be rotated without re-encrypting at once."""
        return [k.strip() for k in (self.secret_key or "").split(",") if k.strip()]


_PREFIXES = {"Settings": "LEAP_", "PoolLimits": "LEAP_POOL_", "QuotaDefaults": "LEAP_DEFAULT_"}


def _one_line(exc: PydanticValidationError) -> str:
    """`LEAP_TRANSCRIBER='whisper': Input should be 'local' or 'openai'` — the variable, the value, the rule."""
    first = exc.errors()[0]
    names = [str(part) for part in first["loc"] if part not in ("pool_limits", "default_quotas")]
    variable = _PREFIXES.get(exc.title, "LEAP_") + "_".join(names).upper()
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"bad setting {variable}={first.get('input')!r}: {first['msg']}{more}"


def _leap_environment() -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith(("LEAP_", "DAGSTER_HOME"))))


@lru_cache(maxsize=4)
def _settings_for(_environment: tuple[tuple[str, str], ...]) -> Settings:
    try:
        return Settings()
    except PydanticValidationError as exc:
        raise ConfigurationError(_one_line(exc)) from None


def get_settings() -> Settings:
    """The process's settings, built and validated once per distinct LEAP_* environment.

    Keyed on the LEAP_* variables rather than cached blindly, so a test's monkeypatched variable is
    seen without a reset hook, while a process (whose environment does not change) validates once.
    A bad value raises ConfigurationError naming the variable, on one line.
    """
    return _settings_for(_leap_environment())


def reset_settings() -> None:
    """Forget every cached Settings (tests that change the environment behind os.environ's back)."""
    _settings_for.cache_clear()


def default_quotas() -> QuotaDefaults:
    return get_settings().default_quotas
