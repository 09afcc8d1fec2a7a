"""One prediction's record and lifecycle: created -> processing -> completed | failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class JobStatus(StrEnum):
    """Hosted-API task states; ``created`` doubles as "queued"."""

    CREATED = "created"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    def is_terminal(self) -> bool:
        """True for completed and failed."""
        return self in (JobStatus.COMPLETED, JobStatus.FAILED)


class WebhookState(StrEnum):
    """Delivery state of a job's webhook."""

    NONE = "none"
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(kw_only=True)
class Job:
    """A prediction as stored. Times are Unix seconds; ``inference_ms`` is render time."""

    id: str
    model: str
    owner: str
    created_at: float
    options: dict[str, Any]
    input: dict[str, Any] = field(default_factory=dict)
    enable_base64_output: bool = False
    webhook_url: str | None = None
    base_url: str = ""
    status: JobStatus = JobStatus.CREATED
    attempts: int = 0
    progress_done: int = 0
    progress_total: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    inference_ms: int = 0
    error: str | None = None
    error_code: str | None = None
    has_nsfw: bool | None = None
    webhook_state: WebhookState = WebhookState.NONE
