"""A course glossary: the template's terms and names, validated at save (size caps, types, one-line errors).

Stored on the template as `{"terms": [{"term": "Dijkstra", "sounds_like": ["dike stra"]}, ...]}`.
`sounds_like` is optional: how the recogniser tends to write the term, or how it is pronounced in plain
spelling; a listed variant is trusted more than a fuzzy match (see leap_core.speech.glossary_match).
The CLI reads a JSON file of that shape, or a text file with one term a line, variants after `|`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from leap_core.errors import ValidationError

MAX_TERMS = 500
MAX_TERM_CHARS = 60
MAX_TERM_WORDS = 4
MAX_VARIANTS = 5


class GlossaryTerm(BaseModel):
    term: str
    sounds_like: list[str] = Field(default_factory=list)


class Glossary(BaseModel):
    terms: list[GlossaryTerm] = Field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.terms)


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"glossary {what} must be non-empty text")
    clean = " ".join(value.split())
    if len(clean) > MAX_TERM_CHARS or len(clean.split()) > MAX_TERM_WORDS:
        raise ValidationError(f"glossary {what} {clean[:40]!r} is longer than {MAX_TERM_CHARS} characters "
                              f"or {MAX_TERM_WORDS} words")
    if not any(c.isalpha() for c in clean):
        raise ValidationError(f"glossary {what} {clean[:40]!r} has no letters")
    return clean


def _entry(raw: object, index: int) -> GlossaryTerm:
    if isinstance(raw, str):
        raw = {"term": raw}
    if not isinstance(raw, Mapping):
        raise ValidationError(f"glossary term {index + 1} must be text or {{term, sounds_like}}")
    unknown = sorted(set(raw) - {"term", "sounds_like"})
    if unknown:
        raise ValidationError(f"glossary term {index + 1}: unknown field(s) {', '.join(map(str, unknown))}; "
                              "known: term, sounds_like")
    term = _text(raw.get("term"), f"term {index + 1}")
    variants = raw.get("sounds_like") or []
    if not isinstance(variants, list) or len(variants) > MAX_VARIANTS:
        raise ValidationError(f"glossary term {term!r}: sounds_like must be a list of at most {MAX_VARIANTS}")
    return GlossaryTerm(term=term, sounds_like=[_text(v, f"sounds_like of {term!r}") for v in variants])


def validate_glossary(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """The glossary as stored, or a ValidationError naming the first bad entry."""
    if not raw:
        return {}
    if not isinstance(raw, Mapping) or set(raw) - {"terms"}:
        raise ValidationError('glossary must be {"terms": [...]}')
    entries = raw.get("terms") or []
    if not isinstance(entries, list):
        raise ValidationError("glossary terms must be a list")
    if len(entries) > MAX_TERMS:
        raise ValidationError(f"glossary has {len(entries)} terms; at most {MAX_TERMS}")
    terms = [_entry(e, i) for i, e in enumerate(entries)]
    seen: set[str] = set()
    for t in terms:
        if t.term.casefold() in seen:
            raise ValidationError(f"glossary lists {t.term!r} twice")
        seen.add(t.term.casefold())
    return Glossary(terms=terms).model_dump() if terms else {}


def parse_glossary_file(text: str) -> dict[str, Any]:
    """JSON (`{"terms": [...]}` or a list), or lines of `Term | variant | variant` (`#` starts a comment)."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValidationError(f"glossary file is not valid JSON: {exc}") from None
        return validate_glossary({"terms": data} if isinstance(data, list) else data)
    entries: list[dict[str, Any]] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            term, *variants = (part.strip() for part in line.split("|"))
            entries.append({"term": term, "sounds_like": [v for v in variants if v]})
    return validate_glossary({"terms": entries})
