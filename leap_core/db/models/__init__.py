"""Every table of the domain; importing this package registers them all on `Base.metadata`."""

from leap_core.db.models.audit import AuditLog
from leap_core.db.models.automation import AutomationJob, AutomationRevision, AutomationRun
from leap_core.db.models.notifications import Notification, NotificationDelivery
from leap_core.db.models.quotas import QuotaUsage, SubscriptionPlan, UserSubscription
from leap_core.db.models.recordings import (
    OutputTarget,
    ProcessingStage,
    Recording,
    RecordingArchive,
    RunRequest,
)
from leap_core.db.models.search import TranscriptCue
from leap_core.db.models.sources import Source, Template
from leap_core.db.models.users import Credential, User

__all__ = [
    "AuditLog",
    "AutomationJob",
    "AutomationRevision",
    "AutomationRun",
    "Credential",
    "Notification",
    "NotificationDelivery",
    "OutputTarget",
    "ProcessingStage",
    "QuotaUsage",
    "Recording",
    "RecordingArchive",
    "RunRequest",
    "Source",
    "SubscriptionPlan",
    "Template",
    "TranscriptCue",
    "User",
    "UserSubscription",
]
