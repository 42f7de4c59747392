"""Templates: which recordings they claim (matching rules) and the embedded default's inbox template."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from leap_core.db.models import Source, Template
from leap_core.sources.base import SourceFile


def matches(template: Template, source: Source, file: SourceFile) -> bool:
    rules = template.rules or {}
    source_ids = rules.get("source_ids") or []
    if source_ids and source.id not in source_ids:
        return False
    pattern = rules.get("name_glob")
    if pattern and not fnmatch.fnmatch(file.name.lower(), str(pattern).lower()):
        return False
    min_duration, max_duration = rules.get("min_duration_s"), rules.get("max_duration_s")
    if file.duration_s is not None:
        if min_duration is not None and file.duration_s < float(min_duration):
            return False
        if max_duration is not None and file.duration_s > float(max_duration):
            return False
    return True


def choose(templates: Sequence[Template], source: Source, file: SourceFile) -> Template | None:
    """The highest-priority matching template; ties go to the oldest, so adding one never steals matches."""
    ranked = sorted(templates, key=lambda t: (-t.priority, t.created_at, t.id))
    return next((t for t in ranked if matches(t, source, file)), None)
