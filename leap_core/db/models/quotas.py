"""Plans, subscriptions with per-user overrides, and usage per YYYYMM period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leap_core.db.base import Base
from leap_core.db.types import ULIDString, UTCDateTime, new_ulid, utcnow


class SubscriptionPlan(Base):
    __tablename__ = "subscription_plans"

    id: Mapped[str] = mapped_column(ULIDString, primary_key=True, default=new_ulid)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    max_recordings_per_month: Mapped[int | None] = mapped_column(Integer)
    max_storage_gb: Mapped[float | None] = mapped_column(Float)
    max_concurrent_tasks: Mapped[int | None] = mapped_column(Integer)
    max_automation_jobs: Mapped[int | None] = mapped_column(Integer)
    min_automation_interval_hours: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserSubscription(Base):
    __tablename__ = "user_subscriptions"

    id: Mapped[str] = mapped_column(ULIDString, primary_key=True, default=new_ulid)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("subscription_plans.id"))
    custom_max_recordings_per_month: Mapped[int | None] = mapped_column(Integer)
    custom_max_storage_gb: Mapped[float | None] = mapped_column(Float)
    custom_max_concurrent_tasks: Mapped[int | None] = mapped_column(Integer)
    custom_max_automation_jobs: Mapped[int | None] = mapped_column(Integer)
    custom_min_automation_interval_hours: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuotaUsage(Base):
    __tablename__ = "quota_usage"
    __table_args__ = (UniqueConstraint("user_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(6))
    recordings_count: Mapped[int] = mapped_column(Integer, default=0)
    storage_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    transcription_seconds: Mapped[float] = mapped_column(Float, default=0.0)
