"""Reading an input given as a path, bytes or a binary file object."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from talkinghead.errors import FileTooLargeError, InputError

Source = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO


def read_source(source: Source, *, what: str, max_bytes: int) -> tuple[bytes, str]:
    """Return the bytes of ``source`` and a name for messages.

    Refuses more than ``max_bytes`` without reading the rest.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        name = f"the {what} bytes"
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        name = str(path)
        if not path.is_file():
            raise InputError(f"{what} file not found: {name}")
        size = path.stat().st_size
        if size > max_bytes:
            raise FileTooLargeError(
                f"{name}: {what} is {size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB"
            )
        data = path.read_bytes()
    elif hasattr(source, "read"):
        name = str(getattr(source, "name", f"the {what} stream"))
        data = source.read(max_bytes + 1)
        if not isinstance(data, bytes):
            raise InputError(f"{name}: {what} stream must be opened in binary mode")
    else:
        kind = type(source).__name__
        raise InputError(f"{what} must be a path, bytes or a binary file, not {kind}")
    if len(data) > max_bytes:
        raise FileTooLargeError(f"{name}: {what} is over the {max_bytes / 2**20:.0f} MB limit")
    if not data:
        raise InputError(f"{name}: {what} is empty (0 bytes)")
    return data, name
