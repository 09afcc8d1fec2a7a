"""Errors only the HTTP service raises, as leaves of the one ``TalkingHeadError`` tree::

    TalkingHeadError
    ├── InputError
    │   ├── RequestError          malformed JSON, unknown or ill-typed field (400)
    │   ├── FetchError            a URL input could not be fetched (400)
    │   │   └── BlockedAddressError   private/loopback/link-local/multicast target (400)
    │   └── ContentRefusedError   refused by the operator's content policy (422)
    ├── AuthError                 missing or wrong API key (401)
    ├── NotFoundError             unknown or expired prediction or file (404)
    ├── BusyError                 too many queued jobs (429)
    │   └── RateLimitedError      too many submissions or failed keys, for now (429)
    ├── InsufficientStorageError  the data directory's disk is (nearly) full (507)
    ├── UnavailableError          the fleet's broker (Redis) cannot be reached (503)
    ├── StoreError                the job store cannot be opened or is damaged (500)
    └── DataDirInUseError         another server holds the data directory's lock (503)
"""

from __future__ import annotations

from talkinghead.errors import InputError, TalkingHeadError


class RequestError(InputError):
    """The request body or a field in it is malformed."""

    code = "invalid_request"


class FetchError(InputError):
    """A URL input could not be fetched."""

    code = "fetch_failed"


class BlockedAddressError(FetchError):
    """A URL resolves to an address this server refuses to reach."""

    code = "blocked_address"


class ContentRefusedError(InputError):
    """The input was refused by the operator's content policy."""

    code = "content_refused"
    http_status = 422


class AuthError(TalkingHeadError):
    """Missing or wrong API key."""

    code = "unauthorized"
    http_status = 401


class NotFoundError(TalkingHeadError):
    """No such prediction (or it expired), or no such file."""

    code = "not_found"
    http_status = 404


class BusyError(TalkingHeadError):
    """The queue is full."""

    code = "busy"
    http_status = 429


class UnavailableError(TalkingHeadError):
    """A part the service depends on (the fleet's Redis broker) cannot be reached."""

    code = "unavailable"
    http_status = 503


class StoreError(TalkingHeadError):
    """The job store (SQLite file) cannot be opened, or is damaged."""

    code = "store_failed"
    http_status = 500


class DataDirInUseError(TalkingHeadError):
    """Another server process is using the data directory."""

    code = "data_dir_in_use"
    http_status = 503


class InsufficientStorageError(TalkingHeadError):
    """The data directory's disk is too full to take a new task."""

    code = "insufficient_storage"
    http_status = 507


def is_disk_full(exc: BaseException) -> bool:
    """True for an OSError or SQLite error that says the disk (or quota) is full."""
    import errno
    import sqlite3

    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return isinstance(exc, sqlite3.Error) and "full" in str(exc)


class RateLimitedError(BusyError):
    """Too many requests of one kind for now; ``retry_after_s`` says when to try again."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
