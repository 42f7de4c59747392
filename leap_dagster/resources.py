"""The `leap` resource: hands the assets and sensors a `Leap` (database, storage, pipeline) per process."""


import os
from functools import cache

from dagster import ConfigurableResource

from leap_core.api import Leap
from leap_core.config import Settings
from leap_core.db.session import Database
from leap_core.pipeline.facade import Pipeline


@cache
def _leap(database_url: str | None, home: str | None) -> Leap:
    overrides = {k: v for k, v in {"database_url": database_url, "home": home}.items() if v is not None}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    leap = Leap(settings, Database(settings.resolved_database_url))
    if settings.is_embedded:
        leap.db.upgrade()
    return leap


class LeapResource(ConfigurableResource):
    """Fields left as None mean "the core's default from the environment", so `dagster dev` needs no config."""

    database_url: str | None = None
    home: str | None = None

    def get(self) -> Leap:
        return _leap(self.database_url or os.environ.get("LEAP_DATABASE_URL"), self.home or os.environ.get("LEAP_HOME"))

    def pipeline(self) -> Pipeline:
        return self.get().pipeline
