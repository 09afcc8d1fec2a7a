"""Service settings: one frozen dataclass; ``Settings.from_env`` is the only env read."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

MB = 1024 * 1024

NsfwPolicy = Literal["off", "flag", "refuse"]
PromptPolicy = Literal["reject", "ignore"]

#: Environment variable -> field name, for every field that can come from the environment.
_ENV = {
    "TALKINGHEAD_DATA_DIR": "data_dir",
    "TALKINGHEAD_WORKERS": "workers",
    "TALKINGHEAD_PUBLIC_URL": "public_url",
    "TALKINGHEAD_WEBHOOK_SECRET": "webhook_secret",
    "TALKINGHEAD_MAX_IMAGE_MB": "max_image_mb",
    "TALKINGHEAD_MAX_AUDIO_MB": "max_audio_mb",
    "TALKINGHEAD_MAX_AUDIO_S": "max_audio_s",
    "TALKINGHEAD_FETCH_CONNECT_TIMEOUT_S": "fetch_connect_timeout_s",
    "TALKINGHEAD_FETCH_READ_TIMEOUT_S": "fetch_read_timeout_s",
    "TALKINGHEAD_FETCH_ALLOW": "fetch_allow",
    "TALKINGHEAD_FETCH_TOTAL_TIMEOUT_S": "fetch_total_timeout_s",
    "TALKINGHEAD_FETCH_MIN_RATE_KBPS": "fetch_min_rate_kbps",
    "TALKINGHEAD_FETCH_RATE_GRACE_S": "fetch_rate_grace_s",
    "TALKINGHEAD_FETCHES_PER_KEY": "fetches_per_key",
    "TALKINGHEAD_WEBHOOKS_PER_KEY": "webhooks_per_key",
    "TALKINGHEAD_WEBHOOK_THREADS": "webhook_threads",
    "TALKINGHEAD_RETENTION_S": "retention_s",
    "TALKINGHEAD_URL_TTL_S": "url_ttl_s",
    "TALKINGHEAD_MAX_ATTEMPTS": "max_attempts",
    "TALKINGHEAD_JOB_TIMEOUT_S": "job_timeout_s",
    "TALKINGHEAD_MAX_QUEUED": "max_queued",
    "TALKINGHEAD_MIN_FREE_MB": "min_free_mb",
    "TALKINGHEAD_SUBMITS_PER_MIN": "submits_per_min",
    "TALKINGHEAD_SUBMIT_BURST": "submit_burst",
    "TALKINGHEAD_AUTH_FAILURES_PER_MIN": "auth_failures_per_min",
    "TALKINGHEAD_WEBHOOK_ATTEMPTS": "webhook_attempts",
    "TALKINGHEAD_WEBHOOK_BACKOFF_S": "webhook_backoff_s",
    "TALKINGHEAD_NSFW_POLICY": "nsfw_policy",
    "TALKINGHEAD_NSFW_THRESHOLD": "nsfw_threshold",
    "TALKINGHEAD_PROMPT_POLICY": "prompt_policy",
    "TALKINGHEAD_BROKER_URL": "broker_url",
    "TALKINGHEAD_FLEET_QUEUE": "fleet_queue",
    "TALKINGHEAD_FLEET_VISIBILITY_TIMEOUT_S": "fleet_visibility_timeout_s",
    "TALKINGHEAD_FLEET_LEASE_S": "fleet_lease_s",
    "TALKINGHEAD_HEADER_TIMEOUT_S": "header_timeout_s",
    "TALKINGHEAD_KEEPALIVE_S": "keepalive_s",
    "TALKINGHEAD_MAX_CONNECTIONS": "max_connections",
    "TALKINGHEAD_LIVE_SESSIONS": "live_sessions",
    "TALKINGHEAD_LIVE_MAX_S": "live_max_s",
    "TALKINGHEAD_LIVE_IDLE_S": "live_idle_s",
}


@dataclass(frozen=True, kw_only=True)
class Settings:
    """How the HTTP service runs. Every field has a default except where noted.

    api_keys: Bearer keys accepted; empty means one random key is made at start.
    workers: rendering processes (concurrent renders).
    data_dir: SQLite job store, inputs, outputs and generated secrets live here.
    public_url: base URL clients see (behind a proxy); default: the request's own.
    webhook_secret: master secret from which each API key's webhook secret is derived
        (``auth.webhook_secret_for``; ``whsec_`` prefix optional); default: generated
        once and kept in ``data_dir``.
    fetch_total_timeout_s: a URL input's download, redirects included, must end this soon.
    fetch_min_rate_kbps, fetch_rate_grace_s: a URL's server must send at least this many
        kB/s on average, counted from its first byte once the grace time has passed.
    fetches_per_key: URL downloads one API key may have in flight (more get 429).
    webhooks_per_key, webhook_threads: webhook deliveries one API key may have in flight,
        and in all (one key's slow receivers cannot hold the others' threads).
    fetch_allow: networks (CIDR) that URL inputs and webhooks may reach even
        though they are private or loopback; empty refuses them all.
    retention_s: inputs, outputs and job records are deleted this long after creation.
    url_ttl_s: lifetime of the signed output URLs handed out in results.
    max_attempts: a job interrupted by a crash or restart is tried at most this often.
    job_timeout_s: a render running longer is stopped and the job fails.
    max_queued: jobs waiting beyond this many get 429.
    min_free_mb: submissions get 507 while the data directory's disk has less free.
    submits_per_min, submit_burst: each API key may submit ``submit_burst`` tasks at
        once, then ``submits_per_min`` a minute (429 with Retry-After past that);
        0 submits_per_min: no limit.
    auth_failures_per_min: wrong or missing keys allowed per client address and
        minute (with a burst of as many) before that address gets 429 for a while;
        0: no throttling.
    nsfw_policy: "off" (no check), "flag" (report only) or "refuse" (fail the task).
    prompt_policy: what the 1.5 route does with a non-empty ``prompt``.
    broker_url: ``redis://...`` to render on a fleet of ``talkinghead worker``
        machines (Celery on Redis); None renders in this process's own pool.
    fleet_queue: the Celery queue, also the prefix of the fleet's Redis keys.
    fleet_visibility_timeout_s: a task whose worker vanished is handed to another
        worker this long after it was taken (Redis transport's visibility timeout).
    fleet_lease_s: a rendering worker renews its claim on a job this often (x3);
        a claim not renewed for this long is free for another worker.
    header_timeout_s: a connection must send complete request headers this soon after
        it opens (or after its previous response), or it is closed.
    keepalive_s: an idle keep-alive connection is closed after this long.
    max_connections: open connections beyond this close the oldest one still waiting
        for its headers (lowered to fit the process's open-file limit).
    live_sessions: live sessions (``/api/v1/live``) open at once; each takes about half
        a core at 512 px. 0 turns live mode off.
    live_max_s: a live session is closed after this long.
    live_idle_s: a live session that receives no message for this long is closed.
    """

    api_keys: tuple[str, ...] = ()
    workers: int = field(default_factory=lambda: max(1, os.cpu_count() or 1))
    data_dir: Path = Path("talkinghead-data")
    public_url: str | None = None
    webhook_secret: str | None = None
    max_image_mb: float = 50.0
    max_audio_mb: float = 50.0
    max_audio_s: float = 600.0
    fetch_connect_timeout_s: float = 5.0
    fetch_read_timeout_s: float = 20.0
    fetch_total_timeout_s: float = 120.0
    fetch_min_rate_kbps: float = 16.0
    fetch_rate_grace_s: float = 5.0
    fetches_per_key: int = 8
    webhooks_per_key: int = 2
    webhook_threads: int = 8
    max_redirects: int = 3
    fetch_allow: tuple[str, ...] = ()
    retention_s: float = 24 * 3600.0
    url_ttl_s: float = 3600.0
    max_attempts: int = 3
    job_timeout_s: float = 1800.0
    max_queued: int = 1000
    min_free_mb: float = 256.0
    submits_per_min: float = 0.0
    submit_burst: int = 20
    auth_failures_per_min: float = 30.0
    webhook_attempts: int = 6
    webhook_backoff_s: float = 2.0
    webhook_timeout_s: float = 10.0
    nsfw_policy: NsfwPolicy = "flag"
    nsfw_threshold: float = 0.5
    prompt_policy: PromptPolicy = "reject"
    playground: bool = True
    broker_url: str | None = None
    fleet_queue: str = "talkinghead"
    fleet_visibility_timeout_s: float = 300.0
    fleet_lease_s: float = 30.0
    header_timeout_s: float = 10.0
    keepalive_s: int = 5
    max_connections: int = 4096
    live_sessions: int = field(default_factory=lambda: max(1, os.cpu_count() or 1))
    live_max_s: float = 3600.0
    live_idle_s: float = 120.0

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.nsfw_policy not in ("off", "flag", "refuse"):
            raise ValueError(f"nsfw_policy must be off, flag or refuse, got {self.nsfw_policy!r}")
        if self.prompt_policy not in ("reject", "ignore"):
            raise ValueError(f"prompt_policy must be reject or ignore, got {self.prompt_policy!r}")
        for net in self.fetch_allow:
            ipaddress.ip_network(net, strict=False)  # raises ValueError on a bad entry
        for name in ("max_image_mb", "max_audio_mb", "max_audio_s", "retention_s", "url_ttl_s",
                     "job_timeout_s", "fetch_connect_timeout_s", "fetch_read_timeout_s",
                     "header_timeout_s", "keepalive_s", "fetch_total_timeout_s",
                     "live_max_s", "live_idle_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("min_free_mb", "submits_per_min", "auth_failures_per_min",
                     "fetch_min_rate_kbps", "fetch_rate_grace_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.live_sessions < 0:
            raise ValueError(f"live_sessions must not be negative, got {self.live_sessions}")
        if self.submit_burst < 1:
            raise ValueError(f"submit_burst must be at least 1, got {self.submit_burst}")
        if min(self.fetches_per_key, self.webhooks_per_key, self.webhook_threads) < 1:
            raise ValueError("fetches_per_key, webhooks_per_key and webhook_threads must be "
                             "at least 1")
        if self.max_connections < 16:
            raise ValueError(f"max_connections must be at least 16, got {self.max_connections}")
        if self.max_attempts < 1 or self.webhook_attempts < 1:
            raise ValueError("max_attempts and webhook_attempts must be at least 1")
        self._check_fleet()

    def _check_fleet(self) -> None:
        if self.broker_url is not None and not self.broker_url.startswith(
                ("redis://", "rediss://", "unix://")):
            raise ValueError(f"broker_url must be a redis://, rediss:// or unix:// URL "
                             f"(Redis carries the tasks and their files), got {self.broker_url!r}")
        if not self.fleet_queue.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"fleet_queue must be letters, digits, - or _, "
                             f"got {self.fleet_queue!r}")
        if self.fleet_lease_s <= 0 or self.fleet_visibility_timeout_s < 2 * self.fleet_lease_s:
            raise ValueError("fleet_lease_s must be positive and fleet_visibility_timeout_s at "
                             f"least twice it, got {self.fleet_lease_s:g} and "
                             f"{self.fleet_visibility_timeout_s:g}")

    @property
    def max_image_bytes(self) -> int:
        """Image size limit in bytes."""
        return int(self.max_image_mb * MB)

    @property
    def max_audio_bytes(self) -> int:
        """Audio size limit in bytes."""
        return int(self.max_audio_mb * MB)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``TALKINGHEAD_*`` variables, then ``overrides`` (None values skipped).

        API keys come from ``TALKINGHEAD_API_KEYS`` (comma-separated) and/or the
        file named by ``TALKINGHEAD_API_KEYS_FILE`` (one key a line, # comments).
        """
        env = dict(os.environ if env is None else env)
        types = {f.name: f.type for f in fields(cls)}
        values: dict[str, Any] = {}
        for var, name in _ENV.items():
            raw = env.get(var, "").strip()
            if raw:
                values[name] = _convert(var, raw, str(types[name]))
        keys = [k.strip() for k in env.get("TALKINGHEAD_API_KEYS", "").split(",") if k.strip()]
        keys_file = env.get("TALKINGHEAD_API_KEYS_FILE", "").strip()
        if keys_file:
            keys += _read_keys_file(Path(keys_file))
        if keys:
            values["api_keys"] = tuple(dict.fromkeys(keys))
        if env.get("TALKINGHEAD_PLAYGROUND", "").strip().lower() in ("0", "false", "no", "off"):
            values["playground"] = False
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _convert(var: str, raw: str, type_name: str) -> Any:
    try:
        if "Path" in type_name:
            return Path(raw)
        if "tuple" in type_name:
            return tuple(item.strip() for item in raw.split(",") if item.strip())
        if type_name.startswith("int"):
            return int(raw)
        if type_name.startswith("float"):
            return float(raw)
    except ValueError as exc:
        raise ValueError(f"{var}={raw!r}: {exc}") from exc
    return raw


def _read_keys_file(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"TALKINGHEAD_API_KEYS_FILE: cannot read {path}: {exc}") from exc
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
