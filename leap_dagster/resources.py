"""The `leap` resource: hands the assets and sensors a `Leap` (database, storage, pipeline) per process."""


from functools import cache
from pathlib import Path

from dagster import ConfigurableResource

from leap_core.api import Leap
from leap_core.config import Settings, get_settings
from leap_core.db.session import Database
from leap_core.pipeline.facade import Pipeline


@cache
def _leap(database_url: str | None, home: str | None) -> Leap:
    overrides = {k: v for k, v in {"database_url": database_url, "home": home and Path(home)}.items() if v}
    settings = Settings(**overrides) if overrides else get_settings()  # type: ignore[arg-type]
    leap = Leap(settings, Database(settings.resolved_database_url))
    leap.db.prepare(embedded=settings.is_embedded)  # configured databases are migrated by `leap db upgrade` only
    return leap


class LeapResource(ConfigurableResource):
    """Fields left as None mean "the core's default from the environment", so `dagster dev` needs no config."""

    database_url: str | None = None
    home: str | None = None

    def get(self) -> Leap:
        settings = get_settings()
        return _leap(self.database_url or settings.database_url, self.home or str(settings.home))

    def pipeline(self) -> Pipeline:
        return self.get().pipeline
