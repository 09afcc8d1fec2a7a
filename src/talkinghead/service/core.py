"""The service's parts wired together: store, runner, webhooks, keys, URL signing."""

from __future__ import annotations

import base64
import logging
import secrets
import shutil
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from talkinghead.service.auth import ApiKeys, UrlSigner, stored_secret, webhook_secret_for
from talkinghead.service.datadir import DataDirLock
from talkinghead.service.errors import AuthError, InsufficientStorageError, RateLimitedError
from talkinghead.service.fetch import FetchLimits, decode_base64, fetch_url, is_url
from talkinghead.service.jobs import Job, JobStatus, WebhookState
from talkinghead.service.limits import KeyedSlots, TokenBuckets
from talkinghead.service.netguard import AddressPolicy, guarded_pool
from talkinghead.service.runner import JobRunner, Runner
from talkinghead.service.schemas import Prediction, Progress, Timings, Urls
from talkinghead.service.settings import MB, Settings
from talkinghead.service.store import SQLiteJobStore
from talkinghead.service.webhooks import WebhookSender

log = logging.getLogger("talkinghead.service")

#: The owner id of the request being handled, set by ``Service.owner``: the routes run
#: ``load_input`` on a thread, which sees this request's context, so the per-key download
#: cap needs no extra argument through them.
_CALLER: ContextVar[str | None] = ContextVar("talkinghead_caller", default=None)


class Service:
    """Everything the routes need; ``start``/``stop`` bracket the server's life."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        data = settings.data_dir
        data.mkdir(parents=True, exist_ok=True)
        self._lock = DataDirLock(data)  # before anything in it is read or written
        self.spool_dir = data / "spool"  # large request bodies (unnamed files) while read
        self.spool_dir.mkdir(exist_ok=True)
        keys = settings.api_keys
        if not keys:
            keys = (secrets.token_urlsafe(24),)
            log.warning("no API keys configured (TALKINGHEAD_API_KEYS); for this run use: %s",
                        keys[0])
        self.keys = ApiKeys(keys)
        self._auth_failures = (TokenBuckets(settings.auth_failures_per_min,
                                            max(1, int(settings.auth_failures_per_min)))
                               if settings.auth_failures_per_min else None)
        self._submits = (TokenBuckets(settings.submits_per_min, settings.submit_burst)
                         if settings.submits_per_min else None)
        # The master secret; each API key's webhooks are signed with a secret derived
        # from it (webhook_secret_for), never with the master itself.
        self._webhook_master = settings.webhook_secret or stored_secret(
            data / "webhook_secret", prefix="whsec_")
        self.signer = UrlSigner(stored_secret(data / "url_secret"), ttl_s=settings.url_ttl_s)
        self.policy = AddressPolicy(settings.fetch_allow)
        # More connections than the server's request threads (40), so a download never waits
        # for a pooled connection; per-key slots bound what one key holds.
        self.fetch_pool = guarded_pool(self.policy, max_connections=64)
        self.fetch_slots = KeyedSlots(settings.fetches_per_key)
        self.store = SQLiteJobStore(data / "jobs.sqlite3")
        self.webhooks = WebhookSender(
            policy=self.policy, attempts=settings.webhook_attempts,
            backoff_s=settings.webhook_backoff_s, timeout_s=settings.webhook_timeout_s,
            threads=settings.webhook_threads, per_key=settings.webhooks_per_key,
            on_result=self._webhook_done)
        self.runner: JobRunner
        if settings.broker_url:  # render on a Celery fleet (docs/SERVICE.md, "Scaling out")
            from talkinghead.service.fleet_runner import FleetRunner

            self.runner = FleetRunner(settings, self.store, on_finished=self._job_finished)
        else:
            self.runner = Runner(settings, self.store, on_finished=self._job_finished)

    def start(self) -> None:
        """Start webhooks (re-sending undelivered ones) and the runner."""
        self.webhooks.start()
        for job in self.store.pending_webhooks():
            self._job_finished(job)
        self.runner.start()

    def stop(self) -> None:
        """Stop the runner and webhooks, then close the store."""
        self.runner.stop()
        self.webhooks.stop()
        self.fetch_pool.close()
        self.store.close()
        self._lock.release()

    def owner(self, authorization: str | None, client: str) -> str:
        """The caller's owner id; AuthError for a bad key, RateLimitedError (429) when
        ``client`` (an address) has guessed wrong too often lately."""
        if self._auth_failures is not None:
            wait = self._auth_failures.wait_s(client)
            if wait:
                raise RateLimitedError("too many requests with a wrong or missing API key from "
                                       f"this address; try again in {wait:.0f} s",
                                       retry_after_s=wait)
        try:
            owner = self.keys.owner(authorization)
        except AuthError:
            if self._auth_failures is not None:
                self._auth_failures.take(client)
            raise
        _CALLER.set(owner)
        return owner

    def admit_submission(self, owner: str) -> None:
        """RateLimitedError (429) when ``owner``'s key is over its submission rate."""
        if self._submits is not None:
            wait = self._submits.take(owner)
            if wait:
                raise RateLimitedError(
                    f"this API key may submit {self.settings.submits_per_min:g} tasks a minute "
                    f"(bursts of {self.settings.submit_burst}); try again in {wait:.0f} s",
                    retry_after_s=wait)

    def check_free_space(self) -> None:
        """Raise InsufficientStorageError (507) while the data disk has under ``min_free_mb``."""
        free = shutil.disk_usage(self.settings.data_dir).free
        if free < self.settings.min_free_mb * MB:
            raise InsufficientStorageError(
                f"the server's disk is nearly full ({free / MB:.0f} MB free, "
                f"{self.settings.min_free_mb:g} MB needed to take tasks); try again later")

    def load_input(self, value: str, *, field: str, max_bytes: int,
                   owner: str | None = None) -> bytes:
        """Bytes of an input field (URL or base64); blocking, run it off the event loop.

        A URL is downloaded only while ``owner`` (default: the caller of this request,
        see ``owner()``) has fewer than ``fetches_per_key`` downloads in flight; past
        that, RateLimitedError (429) at once, so one key's slow URLs cannot hold the
        server's request threads.
        """
        if not is_url(value):
            return decode_base64(value, field=field, max_bytes=max_bytes)
        settings = self.settings
        limits = FetchLimits(max_bytes=max_bytes,
                             connect_timeout_s=settings.fetch_connect_timeout_s,
                             read_timeout_s=settings.fetch_read_timeout_s,
                             total_timeout_s=settings.fetch_total_timeout_s,
                             max_redirects=settings.max_redirects,
                             min_rate=settings.fetch_min_rate_kbps * 1000,
                             rate_grace_s=settings.fetch_rate_grace_s)
        key = owner if owner is not None else (_CALLER.get() or "")
        if not self.fetch_slots.try_take(key):
            raise RateLimitedError(
                f"{field}: this API key already has {self.fetch_slots.per_key} URL downloads "
                "in progress; try again when they finish, or send the file as base64",
                retry_after_s=5.0)
        try:
            return fetch_url(value, field=field, limits=limits, pool=self.fetch_pool)
        finally:
            self.fetch_slots.release(key)

    def new_job(self, *, model: str, owner: str, options: dict[str, Any],
                echo: dict[str, Any], base64_output: bool, webhook: str | None,
                base_url: str) -> Job:
        """A fresh job record (not yet stored)."""
        return Job(id=uuid.uuid4().hex, model=model, owner=owner, created_at=time.time(),
                   options=options, input=echo, enable_base64_output=base64_output,
                   webhook_url=webhook, base_url=base_url)

    def present(self, job: Job) -> Prediction:
        """The hosted API's ``data`` object for ``job``."""
        outputs: list[str] = []
        output = self.runner.paths.output(job.id)
        if job.status is JobStatus.COMPLETED and output.is_file():
            if job.enable_base64_output:
                outputs = [base64.b64encode(output.read_bytes()).decode()]
            else:
                path = f"/files/{job.id}.mp4"
                outputs = [f"{job.base_url}{path}?{self.signer.query(path)}"]
        created = datetime.fromtimestamp(job.created_at, UTC)
        return Prediction(
            id=job.id, model=job.model, outputs=outputs,
            urls=Urls(get=f"{job.base_url}/api/v3/predictions/{job.id}/result"),
            has_nsfw_contents=[] if job.has_nsfw is None else [job.has_nsfw],
            status=job.status.value,
            created_at=created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            error=job.error or "", timings=Timings(inference=job.inference_ms),
            progress=Progress(done=job.progress_done, total=job.progress_total))

    def webhook_secret(self, owner: str) -> str:
        """The secret that signs the webhooks of the API key whose owner id is ``owner``."""
        return webhook_secret_for(self._webhook_master, owner)

    def _job_finished(self, job: Job) -> None:
        if job.webhook_url:
            payload = self.present(job).model_dump()
            payload["input"] = job.input
            # One event per job: its id is the same on every retry and after restarts.
            self.webhooks.send(job.id, job.webhook_url, payload,
                               secret=self.webhook_secret(job.owner), webhook_id=f"whk_{job.id}",
                               key=job.owner)

    def _webhook_done(self, job_id: str, ok: bool) -> None:
        self.store.set_webhook_state(job_id, WebhookState.DELIVERED if ok else WebhookState.FAILED)
