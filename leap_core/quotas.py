"""Effective quotas: the user's plan with per-user overrides, or DEFAULT_QUOTAS without a subscription.

Computed in this one place so the launcher, registration and automation all read the same limits. Plans
and subscriptions are changed only through the functions here, which audit every change with its
before and after values; a refused action is audited too (`quota.exceeded`, result failure).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from leap_core import audit
from leap_core.audit import Actor
from leap_core.config import QuotaDefaults, default_quotas
from leap_core.db.models import SubscriptionPlan, User, UserSubscription
from leap_core.errors import NotFoundError, QuotaExceededError, ValidationError

GIB = 1024**3

QUOTA_NAMES = (
    "max_recordings_per_month",
    "max_storage_gb",
    "max_concurrent_tasks",
    "max_automation_jobs",
    "min_automation_interval_hours",
)
INTEGER_QUOTAS = frozenset({"max_recordings_per_month", "max_concurrent_tasks", "max_automation_jobs"})
Limits = Mapping[str, float | int | None]


@dataclass(frozen=True)
class EffectiveQuotas:
    max_recordings_per_month: int | None
    max_storage_gb: float | None
    max_concurrent_tasks: int | None
    max_automation_jobs: int | None
    min_automation_interval_hours: float | None
    source: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def max_storage_bytes(self) -> int | None:
        """GB here means GiB (1024³ bytes), as DESIGN.md fixes it."""
        return None if self.max_storage_gb is None else int(self.max_storage_gb * GIB)


def resolve(
    plan: SubscriptionPlan | None, subscription: UserSubscription | None, defaults: QuotaDefaults
) -> EffectiveQuotas:
    """Override beats plan beats default; with no subscription the defaults apply whole."""
    if plan is None or subscription is None:
        return EffectiveQuotas(**{name: getattr(defaults, name) for name in QUOTA_NAMES}, source="default")
    values = {}
    for name in QUOTA_NAMES:
        override = getattr(subscription, f"custom_{name}")
        values[name] = override if override is not None else getattr(plan, name)
    return EffectiveQuotas(**values, source=f"plan:{plan.name}")


def effective_quotas_for(
    session: Session, user_ids: list[str], defaults: QuotaDefaults
) -> dict[str, EffectiveQuotas]:
    """Every listed user's quotas in one query."""
    rows = session.execute(
        select(UserSubscription, SubscriptionPlan)
        .join(SubscriptionPlan, SubscriptionPlan.id == UserSubscription.plan_id)
        .where(UserSubscription.user_id.in_(user_ids))
    ).all()
    found = {sub.user_id: resolve(plan, sub, defaults) for sub, plan in rows}
    fallback = resolve(None, None, defaults)
    return {user_id: found.get(user_id, fallback) for user_id in user_ids}


def effective_quotas(session: Session, user_id: str, defaults: QuotaDefaults | None = None) -> EffectiveQuotas:
    """One user's quotas; DEFAULT_QUOTAS come from the environment unless given."""
    return effective_quotas_for(session, [user_id], defaults or default_quotas())[user_id]


def refuse(session: Session, actor: Actor, user_id: str, error: QuotaExceededError) -> QuotaExceededError:
    """Audit a refusal in the caller's unit of work, then hand the error back for raising.

    The audit row commits with whatever the caller commits: a caller that catches the error (a sync
    skipping one file) keeps the record; one that lets it escape rolls back everything, record included.
    """
    audit.record(session, actor, "quota.exceeded", "user", user_id, user_id=user_id,
                 details={"quota": error.quota, "limit": error.limit, "current": error.current},
                 result="refused")
    return error


# plans ---------------------------------------------------------------------------------------------
def plan_limits(plan: SubscriptionPlan) -> dict[str, Any]:
    return {"name": plan.name, **{name: getattr(plan, name) for name in QUOTA_NAMES}}


def plan_view(plan: SubscriptionPlan) -> dict[str, Any]:
    return {"id": plan.id, **plan_limits(plan), "created_at": plan.created_at}


def _checked_limits(limits: Limits, prefix: str = "") -> dict[str, float | int | None]:
    """Unknown names and negative or fractional counts are refused before anything is written."""
    unknown = [name for name in limits if name not in QUOTA_NAMES]
    if unknown:
        raise ValidationError(f"unknown quota(s): {', '.join(unknown)}; known: {', '.join(QUOTA_NAMES)}")
    clean: dict[str, float | int | None] = {}
    for name, value in limits.items():
        if value is not None:
            if isinstance(value, bool) or value < 0:
                raise ValidationError(f"{name} must be a non-negative number or None (unlimited), not {value!r}")
            if name in INTEGER_QUOTAS and value != int(value):
                raise ValidationError(f"{name} must be a whole number, not {value!r}")
            value = int(value) if name in INTEGER_QUOTAS else float(value)
        clean[f"{prefix}{name}"] = value
    return clean


def find_plan(session: Session, name_or_id: str) -> SubscriptionPlan:
    plan = session.scalar(
        select(SubscriptionPlan).where((SubscriptionPlan.name == name_or_id) | (SubscriptionPlan.id == name_or_id))
    )
    if plan is None:
        raise NotFoundError(f"plan not found: {name_or_id}")
    return plan


def list_plans(session: Session) -> list[SubscriptionPlan]:
    return list(session.scalars(select(SubscriptionPlan).order_by(SubscriptionPlan.name)))


def create_plan(session: Session, actor: Actor, name: str, limits: Limits) -> SubscriptionPlan:
    if not name.strip() or len(name) > 100:
        raise ValidationError("a plan needs a name of 1 to 100 characters")
    plan = SubscriptionPlan(name=name, **_checked_limits(limits))
    try:
        with session.begin_nested():
            session.add(plan)
            session.flush()
    except IntegrityError:
        raise ValidationError(f"a plan named {name!r} already exists") from None
    audit.record(session, actor, "plan.create", "plan", plan.id, user_id=None, details={"after": plan_limits(plan)})
    return plan


def update_plan(session: Session, actor: Actor, name_or_id: str, limits: Limits) -> SubscriptionPlan:
    """Only the named limits change (None = make unlimited); the audit holds each one's before and after."""
    plan = find_plan(session, name_or_id)
    changes = _checked_limits(limits)
    before = {name: getattr(plan, name) for name in changes}
    for name, value in changes.items():
        setattr(plan, name, value)
    session.flush()
    audit.record(session, actor, "plan.update", "plan", plan.id, user_id=None,
                 details={"plan": plan.name, "before": before, "after": changes})
    return plan


def delete_plan(session: Session, actor: Actor, name_or_id: str) -> None:
    """Refused while anyone is subscribed: silently moving users to the defaults would change their limits."""
    plan = find_plan(session, name_or_id)
    subscribers = session.scalar(
        select(func.count(UserSubscription.id)).where(UserSubscription.plan_id == plan.id)
    ) or 0
    if subscribers:
        raise ValidationError(f"plan {plan.name!r} has {subscribers} subscriber(s); move them to another plan first")
    audit.record(session, actor, "plan.delete", "plan", plan.id, user_id=None,
                 details={"before": plan_limits(plan), "after": None})
    session.delete(plan)
    session.flush()


# subscriptions and overrides ---------------------------------------------------------------------
def subscription_terms(subscription: UserSubscription, plan: SubscriptionPlan) -> dict[str, Any]:
    return {"plan": plan.name, **{f"custom_{name}": getattr(subscription, f"custom_{name}") for name in QUOTA_NAMES}}


def subscription_view(subscription: UserSubscription, plan: SubscriptionPlan) -> dict[str, Any]:
    return {"user_id": subscription.user_id, **subscription_terms(subscription, plan),
            "started_at": subscription.started_at}


def find_user(session: Session, user_id_or_slug: str) -> User:
    user = session.scalar(select(User).where((User.id == user_id_or_slug) | (User.slug == user_id_or_slug)))
    if user is None:
        raise NotFoundError(f"user not found: {user_id_or_slug}")
    return user


def subscription_of(session: Session, user_id: str) -> UserSubscription | None:
    return session.scalar(select(UserSubscription).where(UserSubscription.user_id == user_id))


def list_subscriptions(session: Session) -> list[tuple[UserSubscription, SubscriptionPlan]]:
    rows = session.execute(
        select(UserSubscription, SubscriptionPlan)
        .join(SubscriptionPlan, SubscriptionPlan.id == UserSubscription.plan_id)
        .order_by(UserSubscription.started_at)
    ).all()
    return [(sub, plan) for sub, plan in rows]


def subscribe(session: Session, actor: Actor, user_id: str, plan_name_or_id: str) -> UserSubscription:
    """Moving to another plan keeps the user's overrides: they were granted to the user, not the plan."""
    plan = find_plan(session, plan_name_or_id)
    subscription = subscription_of(session, user_id)
    before = None
    if subscription is None:
        subscription = UserSubscription(user_id=user_id, plan_id=plan.id)
        session.add(subscription)
    else:
        previous = session.get(SubscriptionPlan, subscription.plan_id)
        before = previous.name if previous else None
        subscription.plan_id = plan.id
    session.flush()
    audit.record(session, actor, "subscription.set", "user", user_id, user_id=user_id,
                 details={"before": {"plan": before}, "after": {"plan": plan.name}})
    return subscription


def unsubscribe(session: Session, actor: Actor, user_id: str) -> None:
    subscription = _subscription_required(session, user_id)
    plan = session.get(SubscriptionPlan, subscription.plan_id)
    before = subscription_terms(subscription, plan) if plan else {"plan": None}
    session.delete(subscription)
    session.flush()
    audit.record(session, actor, "subscription.delete", "user", user_id, user_id=user_id,
                 details={"before": before, "after": None})


def set_overrides(session: Session, actor: Actor, user_id: str, limits: Limits) -> UserSubscription:
    """Per-user `custom_max_*` values; None clears one, so the plan's value applies again."""
    subscription = _subscription_required(session, user_id)
    changes = _checked_limits(limits, prefix="custom_")
    before = {name: getattr(subscription, name) for name in changes}
    for name, value in changes.items():
        setattr(subscription, name, value)
    session.flush()
    audit.record(session, actor, "quota.override", "user", user_id, user_id=user_id,
                 details={"before": before, "after": changes})
    return subscription


def _subscription_required(session: Session, user_id: str) -> UserSubscription:
    subscription = subscription_of(session, user_id)
    if subscription is None:
        raise NotFoundError(f"user {user_id} has no subscription (the default quotas apply); subscribe them first")
    return subscription
