"""The code that runs inside a rendering worker process.

Each worker is a long-lived child process: it imports the pipeline once,
then renders tasks one at a time and reports ``Progress`` and ``Done``
events. Bad input ends a task with an error, never the worker; a crash of
the worker itself is seen, and handled, by the runner.

``run_task`` is the worker core: the embedded pool (``worker_main``) and the
Celery fleet (``service/fleet.py``) both render through it, and differ only
in how its events travel.
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from talkinghead.service.events import Done, Progress, Task

PROGRESS_EVERY_S = 0.2


def worker_main(index: int, conn: Connection, nsfw_policy: str, nsfw_threshold: float,
                cv_threads: int = 1) -> None:
    """Serve tasks from ``conn`` until it closes or sends None; events go back on ``conn``.

    Each worker has its own pipe to the runner (no queue shared between workers), so
    a worker killed mid-message can garble only its own pipe, which dies with it.
    """
    die_with_parent()
    import cv2

    import talkinghead.pipeline  # noqa: F401  (import once, before the first task)

    # Workers run side by side: OpenCV's own thread pool in each of them gets only
    # its share of the cores, or they would fight over the same ones.
    cv2.setNumThreads(cv_threads)
    detector = make_detector(nsfw_policy, nsfw_threshold)
    parent = os.getppid()
    while True:
        try:
            if not conn.poll(1.0):
                if os.getppid() != parent:  # the server died: do not linger as an orphan
                    return
                continue
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            conn.send(run_task(task, index=index, report=conn.send, detector=detector,
                               nsfw_policy=nsfw_policy))
        except (BrokenPipeError, EOFError, OSError):
            return  # the runner is gone


def die_with_parent() -> None:
    """End this process as soon as the process that started it dies, even mid-render.

    Linux: the kernel sends SIGKILL on the parent's death (``PR_SET_PDEATHSIG``).
    Everywhere: a thread checks the parent's pid every second, as a fallback.
    """
    import multiprocessing

    parent = multiprocessing.parent_process()
    parent_pid = parent.pid if parent is not None else os.getppid()
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="talkinghead-parent-watch", daemon=True).start()


def verify_video(path: Path) -> None:
    """Raise RenderError unless ``path`` is a non-empty MP4 whose video decodes."""
    import av

    from talkinghead.errors import RenderError

    try:
        if path.stat().st_size == 0:
            raise RenderError("the encoder wrote an empty video file")
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise RenderError("the encoded file has no video stream")
            next(container.decode(video=0))
    except (OSError, av.error.FFmpegError, StopIteration) as exc:
        raise RenderError(f"the encoded video cannot be read back ({type(exc).__name__})") \
            from exc


def make_detector(nsfw_policy: str, nsfw_threshold: float) -> Any:
    """The nudity detector for ``nsfw_policy``, or None when the check is off."""
    if nsfw_policy == "off":
        return None
    from talkinghead.service.nsfw import NudityDetector

    return NudityDetector(threshold=nsfw_threshold)


def run_task(task: Task, *, index: int, report: Callable[[Progress], None], detector: Any,
             nsfw_policy: str, passthrough: tuple[type[BaseException], ...] = ()) -> Done:
    """Render one task to ``task.output_path``; the outcome, success or error, as ``Done``.

    ``report`` receives throttled ``Progress`` events. Input errors and bugs become
    a ``Done`` with an error (never naming a path on this machine); exceptions of the
    ``passthrough`` types (a time limit the caller enforces) propagate.

    The video is written to a file of this attempt's own
    (``<output>.<pid>-<random>.part``), read back to check it decodes, and only
    then renamed to ``output_path`` (atomic): the video appears there only whole,
    and two renders of one job never write the same file.
    """
    from talkinghead.config import Options
    from talkinghead.errors import TalkingHeadError
    from talkinghead.pipeline import render_video

    started = time.perf_counter()
    has_nsfw: bool | None = None
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if done == total or now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            report(Progress(index, task.job_id, done, total))

    partial = Path(f"{task.output_path}.{os.getpid()}-{secrets.token_hex(4)}.part")
    try:
        if detector is not None:
            has_nsfw = _check_nsfw(task, detector, nsfw_policy)
        render_video(task.image_path, task.audio_path, partial, Options.from_dict(task.options),
                     progress=progress)
        verify_video(partial)
        os.replace(partial, task.output_path)
    except passthrough:
        raise
    except Exception as exc:
        if _disk_full(exc):  # not the input's fault, nor a bug: say what to do
            return Done(index, task.job_id, _ms(started), has_nsfw,
                        "disk full: the server's disk filled up while rendering; try again "
                        "later", "disk_full")
        if isinstance(exc, TalkingHeadError):
            return Done(index, task.job_id, _ms(started), has_nsfw, _scrub(exc.message, task),
                        exc.code)
        # A bug, not the input: report it, keep the worker alive.
        traceback.print_exc(file=sys.stderr)  # the server's log has the details
        return Done(index, task.job_id, _ms(started), has_nsfw,
                    f"internal error while rendering ({type(exc).__name__}); "
                    "please report it", "render_failed")
    finally:
        partial.unlink(missing_ok=True)
    return Done(index, task.job_id, _ms(started), has_nsfw)


def _scrub(message: str, task: Task) -> str:
    """``message`` without the folders of this machine's input and output files."""
    for path in (task.image_path, task.audio_path, task.output_path):
        folder = os.path.dirname(path)
        if folder:
            message = message.replace(folder + os.sep, "")
    return message


def _check_nsfw(task: Task, detector: Any, nsfw_policy: str) -> bool:
    from talkinghead.inputs import load_portrait
    from talkinghead.service.errors import ContentRefusedError

    flagged = bool(detector.is_nsfw(load_portrait(task.image_path).rgb))
    if flagged and nsfw_policy == "refuse":
        raise ContentRefusedError("image: the portrait was flagged as explicit nudity and this "
                                  "server's policy refuses such tasks; use another portrait")
    return flagged


def _disk_full(exc: BaseException) -> bool:
    """True when ``exc``, or an error it was raised from, says the disk is full."""
    from talkinghead.service.errors import is_disk_full

    seen: BaseException | None = exc
    for _ in range(8):  # a short chain: the encoder's error wrapped in a RenderError, say
        if seen is None:
            return False
        if is_disk_full(seen) or "No space left on device" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _ms(started: float) -> int:
    return int(round((time.perf_counter() - started) * 1000))
