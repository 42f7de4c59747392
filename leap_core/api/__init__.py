"""The Python API: `Leap.from_env()`, then `leap.as_user(id)` for one tenant or `leap.admin(actor)`.

A user-scoped API filters every query by its user id, so another user's ids behave exactly like
missing ones; the admin API checks the actor's role once, when it is made. Bulk calls load their rows
in one query and write their audit records together.
"""

from leap_core.api.admin import AdminAPI, create_user
from leap_core.api.leap import Leap
from leap_core.api.users import UserAPI

__all__ = ["AdminAPI", "Leap", "UserAPI", "create_user"]
