"""Run a producer on a second core: items made on a worker thread, consumed in order.

The renderer and the encoder spend their time in numpy, OpenCV and libx264,
which release the GIL, so a frame can be rendered on one core while the one
before it is encoded on the other. A bounded queue keeps memory flat (at most
``depth`` items wait), and the order never changes, so the output does not
depend on how the two threads happen to interleave.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")

_DONE = object()  # the producer ran out
#: How often a blocked producer looks whether the consumer has gone away.
_POLL_S = 0.1


def run_ahead(items: Iterable[T], depth: int = 4) -> Iterator[T]:
    """Yield ``items`` in order, producing them on a worker thread up to ``depth`` ahead.

    An exception raised by the producer is raised here, at the item it would
    have been. Closing the returned generator early (or an error in the
    consumer) stops the worker at its next item.
    """
    box: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if not _put(box, item, stop):
                    return
            _put(box, _DONE, stop)
        except BaseException as exc:  # noqa: BLE001 - handed over to the consumer
            _put(box, _Failed(exc), stop)

    worker = threading.Thread(target=produce, name="talkinghead-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = box.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


def in_background(work: Callable[[], T]) -> Future[T]:
    """Start ``work()`` on its own thread now; ``.result()`` waits for it (or re-raises)."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # noqa: BLE001 - re-raised by future.result()
            future.set_exception(exc)

    threading.Thread(target=run, name="talkinghead-background", daemon=True).start()
    return future


class _Failed:
    """The producer's exception, carried through the queue."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _put(box: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    """Put ``item`` once there is room; False if the consumer stopped first."""
    while not stop.is_set():
        try:
            box.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False
