"""`TemplatesAPI`: one user's templates — rules, presets, which template a file would get, and rematch."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from leap_core import audit, retention, templates, views
from leap_core.api.audited import audited_refusals
from leap_core.api.sources import owned_by_ref
from leap_core.audit import Actor
from leap_core.db.models import Source, Template
from leap_core.db.session import Database
from leap_core.errors import ValidationError
from leap_core.naming import checked_name
from leap_core.review import validate_review
from leap_core.speech.glossary import validate_glossary
from leap_core.speech.languages import spoken_language
from leap_core.stages import PLATFORMS

if TYPE_CHECKING:
    from leap_core.api.users import UserAPI

EDITABLE = ("priority", "process_on_arrival", "exclude_blank", "rules", "trim", "targets", "presets", "language",
            "retention", "glossary", "review")


def template_view(t: Template) -> dict[str, Any]:
    return {**views.template(t), "exclude_blank": t.exclude_blank, "presets": t.presets, "language": t.language,
            "glossary": t.glossary or {}, "review": t.review or {}}


def _checked(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Every field a template may be saved with, validated; a preset error names its line and reason."""
    clean = dict(fields)
    unknown = [t for t in clean.get("targets", []) if t not in PLATFORMS]
    if unknown:
        raise ValidationError(f"unknown target platform(s): {', '.join(unknown)}; known: {', '.join(PLATFORMS)}")
    if "rules" in clean:
        clean["rules"] = templates.validate_rules(clean["rules"] or {})
    if "presets" in clean:
        clean["presets"] = templates.validate_presets(clean["presets"] or {})
    if "trim" in clean:
        clean["trim"] = templates.validate_trim(clean["trim"] or {})
    if clean.get("language") is not None:
        clean["language"] = spoken_language(str(clean["language"]))
    if "retention" in clean:
        clean["retention"] = retention.validate_policy(clean["retention"] or {})
    if "glossary" in clean:
        clean["glossary"] = validate_glossary(clean["glossary"] or {})
    if "review" in clean:
        clean["review"] = validate_review(clean["review"] or {})
    return clean


@audited_refusals("template")
class TemplatesAPI:
    def __init__(self, user: UserAPI) -> None:
        self.user = user

    def _refusal_scope(self) -> tuple[Database, Actor, str | None]:
        return self.user._refusal_scope()

    def add(
        self, name: str, *, targets: list[str], process_on_arrival: bool = True, priority: int = 0,
        rules: dict[str, Any] | None = None, trim: dict[str, Any] | None = None,
        presets: dict[str, Any] | None = None, exclude_blank: bool = True, language: str | None = None,
        retention: dict[str, Any] | None = None, glossary: dict[str, Any] | None = None,
        review: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Save a template, then rematch the recordings not processed yet (a new template may claim them)."""
        name = checked_name(name, "template")
        fields = _checked({"targets": targets, "process_on_arrival": process_on_arrival, "priority": priority,
                           "rules": rules or {}, "trim": trim or {}, "presets": presets or {},
                           "exclude_blank": exclude_blank, "language": language, "retention": retention or {},
                           "glossary": glossary or {}, "review": review or {}})
        try:
            with self.user.leap.db.session() as session:
                template = Template(user_id=self.user.user_id, name=name, **fields)
                session.add(template)
                session.flush()
                audit.record(session, self.user.actor, "template.create", "template", template.id,
                             user_id=self.user.user_id, details=template_view(template))
                templates.rematch(session, self.user.actor, self.user.user_id, cause=f"template {name} created")
                return template_view(template)
        except IntegrityError:
            raise ValidationError(f"you already have a template named {name!r}") from None

    def update(self, ref: str, **changes: Any) -> dict[str, Any]:
        unknown = sorted(set(changes) - set(EDITABLE))
        if unknown:
            raise ValidationError(f"cannot change {', '.join(unknown)}; editable: {', '.join(EDITABLE)}")
        clean = _checked(changes)
        with self.user.leap.db.session() as session:
            template = owned_by_ref(session, Template, self.user.user_id, ref, "template")
            before = template_view(template)
            for key, value in clean.items():
                setattr(template, key, value)
            template.updated_at = datetime.now(UTC)
            session.flush()
            after = template_view(template)
            audit.record(session, self.user.actor, "template.update", "template", template.id,
                         user_id=self.user.user_id,
                         details={"before": {k: before[k] for k in clean}, "after": {k: after[k] for k in clean}})
            templates.rematch(session, self.user.actor, self.user.user_id, cause=f"template {template.name} changed")
            return after

    def delete(self, ref: str, *, force: bool = False) -> dict[str, Any]:
        """Remove a template; refused while recordings or automation jobs use it (the refusal is audited
        once, by the class's `audited_refusals` wrapper, as `template.delete` with result `refused`).

        `force` detaches the recordings and deletes the jobs (leap_core.templates.delete_template).
        """
        with self.user.leap.db.session() as session:
            template = owned_by_ref(session, Template, self.user.user_id, ref, "template")
            return templates.delete_template(session, self.user.actor, template, force)

    def list(self) -> builtins.list[dict[str, Any]]:
        with self.user.leap.db.session() as session:
            rows = session.scalars(select(Template).where(Template.user_id == self.user.user_id)
                                   .order_by(Template.priority.desc(), Template.name))
            return [template_view(t) for t in rows]

    def show(self, ref: str) -> dict[str, Any]:
        with self.user.leap.db.session() as session:
            return template_view(owned_by_ref(session, Template, self.user.user_id, ref, "template"))

    def test(
        self, file_name: str, *, source: str | None = None, duration_s: float | None = None,
        recorded_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Which template would claim such a file, and its presets rendered for it (sample topics)."""
        with self.user.leap.db.session() as session:
            source_id = owned_by_ref(session, Source, self.user.user_id, source, "source").id if source else None
            user_templates = list(session.scalars(select(Template).where(Template.user_id == self.user.user_id)))
            candidate = templates.Candidate(source_id, file_name, duration_s, recorded_at)
            chosen = templates.choose(user_templates, candidate)
            if chosen is None:
                return {"template": None, "presets": {}}
            when = recorded_at or templates.SAMPLE_CONTEXT["recorded_at"]
            context = {**templates.SAMPLE_CONTEXT, "title": file_name.rsplit(".", 1)[0], "source_name": file_name,
                       "recorded_at": when, "date": when.date().isoformat(),
                       "duration_min": round((duration_s or 0) / 60), "user": self.user.user.slug}
            return {"template": chosen.name, "presets": templates.render_presets(chosen.presets, context)}

    def rematch(self) -> dict[str, Any]:
        with self.user.leap.db.session() as session:
            return templates.rematch(session, self.user.actor, self.user.user_id, cause="requested").as_dict()
