"""Signed webhook delivery: retried with exponential backoff, never raising, never blocking.

Each request carries the headers receivers of the hosted API already verify::

    webhook-id: <unique id of this event; the same on every retry, and after a restart>
    webhook-timestamp: <Unix seconds when this attempt was sent>
    webhook-signature: v3,<hex HMAC-SHA256>

The HMAC key is the webhook secret of the API key that submitted the task
(``auth.webhook_secret_for``), without its ``whsec_`` prefix (UTF-8 bytes,
not base64-decoded); the signed message is ``{id}.{timestamp}.{raw body}``.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from talkinghead.service.fetch import check_url
from talkinghead.service.netguard import AddressPolicy, guarded_pool
from talkinghead.service.pacing import Transfer, pace

log = logging.getLogger("talkinghead.service.webhooks")
MAX_AGE_S = 300


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one request."""
    key = secret.removeprefix("whsec_").encode()
    message = f"{webhook_id}.{timestamp}.".encode() + body
    return "v3," + hmac.new(key, message, hashlib.sha256).hexdigest()


def verify(secret: str, headers: Mapping[str, str], body: bytes, *,
           now: float | None = None, max_age_s: int = MAX_AGE_S) -> bool:
    """Receiver side: True when ``headers`` sign ``body`` with ``secret`` and are fresh."""
    lowered = {k.lower(): v for k, v in headers.items()}
    webhook_id = lowered.get("webhook-id", "")
    timestamp = lowered.get("webhook-timestamp", "")
    signature = lowered.get("webhook-signature", "")
    # ASCII digits, and few of them: "²".isdigit() is True but int("²") raises.
    if not (webhook_id and timestamp.isascii() and timestamp.isdigit()
            and len(timestamp) <= 12 and signature):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > max_age_s:
        return False
    expected = sign(secret, webhook_id, int(timestamp), body)
    return any(hmac.compare_digest(expected, s.strip()) for s in signature.split(" "))


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    job_id: str = field(compare=False)
    url: str = field(compare=False)
    body: bytes = field(compare=False)
    webhook_id: str = field(compare=False)
    secret: str = field(compare=False, repr=False)
    key: str = field(default="", compare=False)
    attempt: int = field(default=0, compare=False)


class WebhookSender:
    """Background threads that POST signed payloads and retry failures.

    ``threads`` deliveries run at once in all, at most ``per_key`` of them for one key
    (the API key's owner id given to ``send``): a key whose receivers are slow or
    unreachable holds at most ``per_key`` threads, and the others' webhooks go out on
    the rest. Every attempt ends within ``timeout_s``, however slowly the receiver answers.
    """

    def __init__(self, *, policy: AddressPolicy, attempts: int = 6,
                 backoff_s: float = 2.0, timeout_s: float = 10.0, threads: int = 8,
                 per_key: int = 2,
                 on_result: Callable[[str, bool], None] = lambda job_id, ok: None) -> None:
        self._pool = guarded_pool(policy, max_connections=threads)
        self._attempts, self._backoff_s, self._timeout_s = attempts, backoff_s, timeout_s
        self._on_result = on_result
        self._pending: list[_Delivery] = []  # a heap ordered by due time
        self._per_key = per_key
        self._in_flight: dict[str, int] = {}
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopping = False
        self._threads = [threading.Thread(target=self._loop, name=f"talkinghead-webhook-{i}",
                                          daemon=True) for i in range(threads)]

    def start(self) -> None:
        """Start the delivery threads."""
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop delivering; undelivered webhooks stay pending in the store."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout_s)
        self._pool.close()

    def send(self, job_id: str, url: str, payload: dict[str, Any], *, secret: str,
             webhook_id: str | None = None, key: str = "") -> None:
        """Queue ``payload`` for delivery to ``url``, signed with ``secret``; returns at once.

        ``webhook_id`` names the event (receivers use it as an idempotency key); give
        the same one when the same event is sent again after a restart. ``key`` (the
        submitting API key's owner id) is what the per-key cap counts.
        """
        body = json.dumps(payload, separators=(",", ":")).encode()
        delivery = _Delivery(time.monotonic(), next(self._seq), job_id, url, body,
                             webhook_id or f"whk_{uuid.uuid4().hex}", secret, key)
        with self._cond:
            heapq.heappush(self._pending, delivery)
            self._cond.notify()

    def _next(self, now: float) -> tuple[_Delivery | None, float | None]:
        """The earliest due delivery whose key has a free slot (taken from the heap), else
        None and how long to wait (None: until notified). Call with the lock held."""
        wait: float | None = None
        for delivery in sorted(self._pending):  # small: deliveries pending right now
            if self._in_flight.get(delivery.key, 0) >= self._per_key:
                continue  # that key's slots are busy; a later key's may go first
            if delivery.due > now:
                wait = delivery.due - now
                break
            self._pending.remove(delivery)
            heapq.heapify(self._pending)
            return delivery, None
        return None, wait

    def _loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stopping:
                        return
                    delivery, wait = self._next(time.monotonic())
                    if delivery is not None:
                        break
                    self._cond.wait(wait)
                self._in_flight[delivery.key] = self._in_flight.get(delivery.key, 0) + 1
            try:
                self._attempt(delivery)
            finally:
                with self._cond:
                    left = self._in_flight[delivery.key] - 1
                    if left:
                        self._in_flight[delivery.key] = left
                    else:
                        del self._in_flight[delivery.key]
                    self._cond.notify_all()  # a delivery of this key may go now

    def _attempt(self, delivery: _Delivery) -> None:
        delivery.attempt += 1
        ok, why = self._post(delivery)
        if ok:
            self._report(delivery.job_id, True)
            return
        if delivery.attempt >= self._attempts:
            log.warning("webhook for %s to %s failed %d times, giving up: %s",
                        delivery.job_id, delivery.url, delivery.attempt, why)
            self._report(delivery.job_id, False)
            return
        delivery.due = time.monotonic() + self._backoff_s * 2 ** (delivery.attempt - 1)
        log.info("webhook for %s failed (%s); retry %d in %.1f s", delivery.job_id, why,
                 delivery.attempt, delivery.due - time.monotonic())
        with self._cond:
            heapq.heappush(self._pending, delivery)
            self._cond.notify()

    def _post(self, delivery: _Delivery) -> tuple[bool, str]:
        timestamp = int(time.time())
        headers = [(b"Content-Type", b"application/json"),
                   (b"User-Agent", b"talkinghead-webhook/1"),
                   (b"webhook-id", delivery.webhook_id.encode()),
                   (b"webhook-timestamp", str(timestamp).encode()),
                   (b"webhook-signature",
                    sign(delivery.secret, delivery.webhook_id, timestamp, delivery.body).encode())]
        timeouts = {k: self._timeout_s for k in ("connect", "read", "write", "pool")}
        try:
            # The whole attempt, a slowly trickled answer included, ends within timeout_s.
            with pace(Transfer(self._timeout_s, what="the webhook's answer")):
                response = self._pool.request("POST", check_url(delivery.url, "webhook"),
                                              headers=headers, content=delivery.body,
                                              extensions={"timeout": timeouts})
        except Exception as exc:  # never raise: network, refused address, bad URL alike
            return False, f"{type(exc).__name__}: {exc}"
        if 200 <= response.status < 300:
            return True, ""
        return False, f"HTTP {response.status}"

    def _report(self, job_id: str, ok: bool) -> None:
        try:
            self._on_result(job_id, ok)
        except Exception:
            log.exception("webhook result callback failed for %s", job_id)
