"""Who the CLI acts as: LEAP_ACTOR (the embedded default's demo user when unset)."""

from __future__ import annotations

from functools import cache

from leap_core.api import AdminAPI, Leap, UserAPI
from leap_core.audit import Actor
from leap_core.bootstrap import DEMO_SLUG


@cache
def leap() -> Leap:
    return Leap.from_env()


def actor() -> Actor:
    return Actor(leap().settings.actor or DEMO_SLUG, origin="cli")


def me() -> UserAPI:
    acting = actor()
    return leap().as_user(acting.name, acting)


def admin() -> AdminAPI:
    return leap().admin(actor())
