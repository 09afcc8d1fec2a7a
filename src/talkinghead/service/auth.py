"""Bearer API keys, signed expiring output URLs, and the secrets kept in the data dir."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from talkinghead.service.errors import AuthError


def owner_id(key: str) -> str:
    """A stable, non-secret id for an API key (jobs are visible to their owner only)."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def webhook_secret_for(master: str, owner: str) -> str:
    """The webhook secret of one API key: HMAC-SHA256 of its owner id under the master secret.

    Each key gets its own, so one tenant cannot sign webhooks another's receiver accepts;
    the operator (who has the master secret) can recompute any key's secret offline.
    """
    key = master.removeprefix("whsec_").encode()
    digest = hmac.new(key, f"talkinghead webhook secret\n{owner}".encode(), hashlib.sha256)
    return "whsec_" + base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


class ApiKeys:
    """Checks ``Authorization: Bearer <key>`` against the configured keys."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        if not keys:
            raise ValueError("at least one API key is needed")
        self._keys = keys

    def owner(self, authorization: str | None) -> str:
        """The caller's owner id; raises AuthError for a missing or wrong key."""
        if not authorization:
            raise AuthError("missing API key: send the header 'Authorization: Bearer <key>'")
        scheme, _, key = authorization.strip().partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise AuthError("malformed Authorization header: use 'Bearer <key>'")
        matches = [hmac.compare_digest(key.encode(), k.encode()) for k in self._keys]
        if not any(matches):
            raise AuthError("invalid API key")
        return owner_id(key)


class UrlSigner:
    """HMAC-signed, expiring query strings for file URLs."""

    def __init__(self, secret: str, *, ttl_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self._key = secret.encode()
        self._ttl_s = ttl_s
        self._clock = clock

    def query(self, path: str) -> str:
        """``expires=...&sig=...`` for ``path``, valid for the configured lifetime."""
        expires = int(self._clock() + self._ttl_s)
        return f"expires={expires}&sig={self._sig(path, expires)}"

    def check(self, path: str, expires: str | None, sig: str | None) -> bool:
        """True when ``sig`` signs ``path`` and ``expires`` has not passed."""
        if not expires or not sig or not _is_unix_time(expires):
            return False
        if int(expires) < self._clock():
            return False
        return hmac.compare_digest(self._sig(path, int(expires)), sig)

    def _sig(self, path: str, expires: int) -> str:
        message = f"{path}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]


def _is_unix_time(text: str) -> bool:
    """ASCII digits only, at most 12 of them (``"²".isdigit()`` is True, ``int("²")`` fails)."""
    return text.isascii() and text.isdigit() and len(text) <= 12


def stored_secret(path: Path, *, prefix: str = "") -> str:
    """Read a secret kept in ``path``, creating it (mode 0600) on first use."""
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = prefix + secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value
