"""run_ahead and in_background: order kept, errors handed over, workers stopped."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from talkinghead.overlap import in_background, run_ahead


def test_run_ahead_keeps_order_and_runs_on_another_thread() -> None:
    threads: set[int] = set()

    def items() -> Iterator[int]:
        for i in range(50):
            threads.add(threading.get_ident())
            yield i

    assert list(run_ahead(items(), depth=3)) == list(range(50))
    assert threads and threading.get_ident() not in threads


def test_run_ahead_stays_at_most_depth_ahead() -> None:
    made: list[int] = []

    def items() -> Iterator[int]:
        for i in range(100):
            made.append(i)
            yield i

    ahead = run_ahead(items(), depth=2)
    assert next(ahead) == 0
    time.sleep(0.2)
    # One taken, two queued and one waiting to be queued, at most.
    assert len(made) <= 4
    ahead.close()


def test_run_ahead_raises_the_producers_error_where_it_happened() -> None:
    def items() -> Iterator[int]:
        yield 1
        raise ValueError("broken frame")

    seen = []
    with pytest.raises(ValueError, match="broken frame"):
        for item in run_ahead(items()):
            seen.append(item)
    assert seen == [1]


def test_closing_early_stops_the_worker() -> None:
    made: list[int] = []

    def items() -> Iterator[int]:
        for i in range(10_000):
            made.append(i)
            yield i

    ahead = run_ahead(items(), depth=2)
    assert next(ahead) == 0
    ahead.close()  # joins the worker
    count = len(made)
    time.sleep(0.2)
    assert len(made) == count < 10


def test_in_background_returns_or_reraises() -> None:
    assert in_background(lambda: 6 * 7).result(timeout=5) == 42

    def fail() -> int:
        raise RuntimeError("no phones")

    with pytest.raises(RuntimeError, match="no phones"):
        in_background(fail).result(timeout=5)
