"""Platform-wide operations for admins, and user creation (also used by `leap init`).

Every call that changes something writes an audit record with the values before and after; users are
named by id or slug, plans by name or id.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from leap_core import audit, quotas, stats, usage, usage_verify, views
from leap_core.api.audited import audited_refusals
from leap_core.audit import Actor, AuditQuery
from leap_core.config import default_quotas
from leap_core.db.models import User
from leap_core.db.session import Database
from leap_core.errors import ValidationError
from leap_core.naming import slugify
from leap_core.notifications import outbox
from leap_core.pools import instance_pools
from leap_core.quotas import QUOTA_NAMES

if TYPE_CHECKING:
    import pandas as pd  # annotations only: keeps Dagster run-worker start-up fast

    from leap_core.api.leap import Leap

Limit = float | int | None


@audited_refusals("admin")
class AdminAPI:
    """Platform-wide operations; only made for an actor whose user has the admin role."""

    def __init__(self, leap: Leap, actor: Actor) -> None:
        self.leap = leap
        self.actor = actor

    def _refusal_scope(self) -> tuple[Database, Actor, str | None]:
        return self.leap.db, self.actor, None

    # users -------------------------------------------------------------------------------------
    def create_user(self, slug: str, email: str | None = None, role: str = "user") -> dict[str, Any]:
        """Add a user (role "user" or "admin"); the slug names them in the CLI and in partition keys."""
        return create_user(self.leap.db, self.actor, slug, email, role)

    def list_users(self) -> list[dict[str, Any]]:
        """Every user, oldest first."""
        with self.leap.db.session() as session:
            return [views.user(u) for u in session.scalars(select(User).order_by(User.created_at))]

    # plans -------------------------------------------------------------------------------------
    def create_plan(self, name: str, **limits: Limit) -> dict[str, Any]:
        """A named set of limits (`max_recordings_per_month=…`, …); an omitted or None limit is unlimited."""
        with self.leap.db.session() as session:
            return quotas.plan_view(quotas.create_plan(session, self.actor, name, limits))

    def plans(self) -> list[dict[str, Any]]:
        """All plans by name."""
        with self.leap.db.session() as session:
            return [quotas.plan_view(p) for p in quotas.list_plans(session)]

    def update_plan(self, plan: str, **limits: Limit) -> dict[str, Any]:
        """Change only the given limits (None = unlimited); every subscriber's quotas follow at once."""
        with self.leap.db.session() as session:
            return quotas.plan_view(quotas.update_plan(session, self.actor, plan, limits))

    def delete_plan(self, plan: str) -> None:
        """Remove a plan nobody is subscribed to (refused otherwise, naming the subscriber count)."""
        with self.leap.db.session() as session:
            quotas.delete_plan(session, self.actor, plan)

    # subscriptions and overrides ---------------------------------------------------------------
    def subscribe(self, user: str, plan: str) -> dict[str, Any]:
        """Put a user on a plan (or move them to another; their overrides stay)."""
        with self.leap.db.session() as session:
            target = quotas.find_user(session, user)
            subscription = quotas.subscribe(session, self.actor, target.id, plan)
            return quotas.subscription_view(subscription, quotas.find_plan(session, subscription.plan_id))

    def unsubscribe(self, user: str) -> None:
        """Drop a user's subscription and overrides: DEFAULT_QUOTAS apply to them again."""
        with self.leap.db.session() as session:
            quotas.unsubscribe(session, self.actor, quotas.find_user(session, user).id)

    def subscriptions(self) -> list[dict[str, Any]]:
        """Every subscription with its plan name and the user's overrides."""
        with self.leap.db.session() as session:
            return [quotas.subscription_view(sub, plan) for sub, plan in quotas.list_subscriptions(session)]

    def set_quota_overrides(self, user: str, **limits: Limit) -> dict[str, Any]:
        """Per-user values that beat the plan's (`max_storage_gb=50`, …); None clears one. Needs a subscription."""
        with self.leap.db.session() as session:
            target = quotas.find_user(session, user)
            subscription = quotas.set_overrides(session, self.actor, target.id, limits)
            return quotas.subscription_view(subscription, quotas.find_plan(session, subscription.plan_id))

    def clear_quota_overrides(self, user: str, *names: str) -> dict[str, Any]:
        """Clear the named overrides (all of them when none are named): the plan's values apply again."""
        return self.set_quota_overrides(user, **dict.fromkeys(names or QUOTA_NAMES))

    def quotas(self, user: str) -> dict[str, Any]:
        """A user's effective quotas and where they come from ("default" or "plan:<name>")."""
        with self.leap.db.session() as session:
            return quotas.effective_quotas(session, quotas.find_user(session, user).id).as_dict()

    def usage(self, user: str, period: str | None = None) -> dict[str, Any]:
        """A user's usage in `period` (YYYYMM, UTC; this month by default)."""
        with self.leap.db.session() as session:
            return usage.usage_of(session, quotas.find_user(session, user).id, period).as_dict()

    def verify_usage(self, user: str | None = None, fix: bool = False) -> dict[str, Any]:
        """Recompute storage (from the disk) and transcription (from the recordings) per user, beside the
        counters; `ok` is False on any difference. `fix` corrects the counters (audited) and checks again."""
        users = self._users(user)
        with self.leap.db.session() as session:
            found = usage_verify.verify(session, self.leap.settings, users, fix=fix, actor=self.actor)
            before = [b.as_dict() for b in found]
        if not fix:
            return {"ok": all(b["ok"] for b in before), "users": before}
        with self.leap.db.session() as session:
            after = [b.as_dict() for b in usage_verify.verify(session, self.leap.settings, users)]
        return {"ok": all(b["ok"] for b in after), "users": after,
                "fixed": [{"user": b["user"], "differences": b["differences"]} for b in before if b["fixed"]]}

    def _users(self, user: str | None) -> list[User]:
        with self.leap.db.session() as session:
            rows = ([quotas.find_user(session, user)] if user
                    else list(session.scalars(select(User).order_by(User.created_at))))
            for row in rows:
                session.expunge(row)
        return rows

    # statistics --------------------------------------------------------------------------------
    def platform_overview(self, since: datetime | None = None, until: datetime | None = None) -> pd.DataFrame:
        """One row over every user: users, active users, recordings by outcome, transcription, storage."""
        with self.leap.db.session() as session:
            return stats.platform_overview(session, stats.DateRange(since, until))

    def user_table(self, since: datetime | None = None, until: datetime | None = None) -> pd.DataFrame:
        """A row per user (plan, recordings by outcome, transcription seconds, storage) from one query."""
        with self.leap.db.session() as session:
            return stats.per_user(session, stats.DateRange(since, until))

    def user_stats(self, user: str, since: datetime | None = None, until: datetime | None = None) -> stats.UserStats:
        """Any user's totals, by status and by template, exactly as they see them with `stats()`."""
        with self.leap.db.session() as session:
            return stats.user_stats(session, quotas.find_user(session, user).id, stats.DateRange(since, until))

    def quota_usage(self, user: str | None = None, first_period: str | None = None,
                    last_period: str | None = None) -> pd.DataFrame:
        """Usage per user and period (YYYYMM bounds inclusive) beside each user's effective limits."""
        with self.leap.db.session() as session:
            user_id = quotas.find_user(session, user).id if user else None
            return stats.quota_usage(session, default_quotas(), user_id=user_id,
                                     first_period=first_period, last_period=last_period)

    def stage_times(self, since: datetime | None = None, until: datetime | None = None,
                    user: str | None = None) -> pd.DataFrame:
        """Mean and p95 seconds per pipeline stage over completed attempts started in the range."""
        with self.leap.db.session() as session:
            user_id = quotas.find_user(session, user).id if user else None
            return stats.stage_times(session, stats.DateRange(since, until), user_id)

    # pools -------------------------------------------------------------------------------------
    def pools(self) -> list[dict[str, Any]]:
        """Each concurrency pool: LEAP's limit, the Dagster instance's, steps holding a slot, steps waiting."""
        home = self.leap.settings.resolved_dagster_home
        if not home:
            raise ValidationError("DAGSTER_HOME is not set and `leap init` recorded no Dagster instance for "
                                  "this LEAP home: name the instance whose pools to show")
        rows: list[dict[str, Any]] = instance_pools("show", home)
        return rows
    # notifications -----------------------------------------------------------------------------
    def drain_notifications(self, limit: int = 50) -> dict[str, int]:
        """Send every user's due email and webhook deliveries now (the outbox sensor does this every 30 s)."""
        report = outbox.drain(self.leap.db, self.leap.settings, limit=limit)
        with self.leap.db.session() as session:
            audit.record(session, self.actor, "notification.drain", "outbox", None, user_id=None,
                         details=report.counts())
        return report.counts()

    # audit -------------------------------------------------------------------------------------
    def audit(self, q: AuditQuery) -> list[dict[str, Any]]:
        """Audit records matching `q` (action accepts `*` wildcards, e.g. "quota.*"), newest first."""
        with self.leap.db.session() as session:
            return [audit.as_dict(e) for e in audit.query(session, q)]


def create_user(db: Database, actor: Actor, slug: str, email: str | None, role: str) -> dict[str, Any]:
    """Also used by `leap init`, before any admin exists."""
    if role not in ("user", "admin"):
        raise ValidationError("role must be 'user' or 'admin'")
    clean = slugify(slug, "")
    if clean != slug or len(slug) > 64:
        raise ValidationError(f"user slug must be lowercase letters, digits and dashes (try {clean!r})")
    try:
        with db.session() as session:
            user = User(slug=slug, email=email, role=role)
            session.add(user)
            session.flush()
            audit.record(session, actor, "user.create", "user", user.id, user_id=user.id,
                         details={"slug": slug, "role": role})
            return views.user(user)
    except IntegrityError:
        raise ValidationError(f"a user with slug {slug!r} already exists") from None
