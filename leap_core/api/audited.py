"""`audited_refusals(noun)`: every public call of an API class that is refused leaves an audit record.

One wrapper at the API boundary rather than a record beside each `raise`: a refusal can come from any
depth (a lookup, a quota, the state table), and the boundary is where the caller, the identity and the
call's name are all known. The record is `<noun>.<method>` with result `refused` and the reason.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from leap_core import refusals
from leap_core.audit import Actor
from leap_core.db.session import Database
from leap_core.errors import LeapError

C = TypeVar("C", bound=type)


class Scoped(Protocol):
    def _refusal_scope(self) -> tuple[Database, Actor, str | None]: ...


def audited_refusals(noun: str, **nouns: str) -> Callable[[C], C]:
    """`noun` names the class's resource; `nouns` another one per method (`quotas="quota"`)."""
    def decorate(cls: C) -> C:
        for name, member in list(vars(cls).items()):
            if not name.startswith("_") and inspect.isfunction(member):
                setattr(cls, name, _guarded(f"{nouns.get(name, noun)}.{name}", member))
        return cls
    return decorate


def _guarded(action: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: Scoped, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except LeapError as error:
            db, actor, user_id = self._refusal_scope()
            refusals.record(db, actor, user_id, action, error)
            raise
    return call
