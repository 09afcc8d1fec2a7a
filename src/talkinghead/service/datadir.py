"""One server per data directory: an exclusive ``flock`` held for the server's life."""

from __future__ import annotations

import os
from pathlib import Path

from talkinghead.service.errors import DataDirInUseError

try:
    import fcntl
except ImportError:  # not POSIX: no lock (docs/SERVICE.md says: one server per data dir)
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = "server.lock"


class DataDirLock:
    """Exclusive lock on ``<data_dir>/server.lock``; the kernel drops it when the process dies.

    Raises DataDirInUseError, naming the directory and the holder's pid, when another
    process holds it. Worker processes do not inherit the descriptor.
    """

    def __init__(self, data_dir: Path) -> None:
        self._fd: int | None = None
        if fcntl is None:
            return
        fd = os.open(data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise DataDirInUseError(
                f"another talkinghead server (pid {holder}) is using the data directory "
                f"{data_dir}; stop it first, or give this one another --data-dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Give the lock up (also happens when the process ends, however it ends)."""
        if self._fd is not None and fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
