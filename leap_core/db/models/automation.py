"""Automation jobs (a user's schedule for a template) and their run history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leap_core.db.base import Base
from leap_core.db.types import JSONType, ULIDString, UTCDateTime, json_default, new_ulid, utcnow


class AutomationJob(Base):
    __tablename__ = "automation_jobs"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[str] = mapped_column(ULIDString, primary_key=True, default=new_ulid)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    template_id: Mapped[str] = mapped_column(ForeignKey("templates.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    schedule: Mapped[dict[str, Any]] = mapped_column(JSONType, default=json_default)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AutomationRun(Base):
    """One evaluation of a job, including the ones skipped as too frequent: the user's job history."""

    __tablename__ = "automation_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("automation_jobs.id", ondelete="CASCADE"), index=True)
    trigger: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=json_default)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """None while the run is in progress (status "started"), or when a crash left it so."""
    dagster_run_id: Mapped[str | None] = mapped_column(String(64))
    """The `automation_run` Dagster run that did the work, when Dagster did it (a manual run has none)."""


class AutomationRevision(Base):
    """One row whose number grows with every change to any automation job, in the change's transaction.

    The Dagster code location builds one schedule per job when it loads; its reload sensor compares the
    revision it loaded with this one, so a change made through the API or CLI reaches the daemon without
    anyone reading every job on every tick.
    """

    __tablename__ = "automation_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
