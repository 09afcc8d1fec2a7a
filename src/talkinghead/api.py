"""The public Python API: ``animate``."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from talkinghead.config import Options
from talkinghead.inputs import Source
from talkinghead.pipeline import ProgressCallback, render_video


def animate(image: Source, audio: Source, output: str | os.PathLike[str] | None = None,
            options: Options | None = None, *,
            progress: ProgressCallback | None = None) -> Path | bytes:
    """Make a talking video of the face in ``image`` speaking ``audio``.

    ``image`` and ``audio`` may be paths, bytes or binary file objects.
    Returns the MP4's path when ``output`` is given, else the MP4's bytes.
    Raises a ``TalkingHeadError`` subclass on bad input (see ``talkinghead.errors``).
    """
    options = options or Options()
    if output is not None:
        path = Path(output)
        with replaced_when_done(path) as partial:
            render_video(image, audio, partial, options, progress=progress)
        return path
    with tempfile.TemporaryDirectory(prefix="talkinghead-") as tmp:
        path = Path(tmp) / "out.mp4"
        render_video(image, audio, path, options, progress=progress)
        return path.read_bytes()


@contextmanager
def replaced_when_done(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it (atomically) when the block ends well.

    Interrupted or failed, the block leaves ``path`` as it was (absent, or the old file)
    and removes the temporary file: a half-written video never sits at ``path``.
    """
    partial = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.part")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
