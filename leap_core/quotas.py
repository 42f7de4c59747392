"""Effective quotas: the user's plan with per-user overrides, or DEFAULT_QUOTAS without a subscription.

Computed in this one place so the launcher, registration and automation all read the same limits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from leap_core.config import QuotaDefaults
from leap_core.db.models import SubscriptionPlan, UserSubscription

QUOTA_NAMES = (
    "max_recordings_per_month",
    "max_storage_gb",
    "max_concurrent_tasks",
    "max_automation_jobs",
    "min_automation_interval_hours",
)


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
