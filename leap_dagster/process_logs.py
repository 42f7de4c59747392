"""Logging in the Dagster processes, and the ids every line written during a stage carries.

`leap_dagster.definitions` calls `configure()` when it loads, which happens in every process that
does LEAP's work: the code server (which also evaluates the sensors the daemon ticks), each run
worker (which loads the definitions to run its steps) and each Celery worker. Configuring is
idempotent, so a reload of the code location installs no second handler.
"""

from __future__ import annotations

import logging

from leap_core.config import get_settings
from leap_core.logs import configure_logging


def configure() -> None:
    configure_logging(get_settings(), default_level=logging.INFO)
