"""Store writes on a full disk (a real small tmpfs, real SQLite): no job is left unfinished,
dispatch resumes by itself when space returns, and the log says it once."""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from talkinghead.service.events import Done, Task
from talkinghead.service.jobs import Job, JobStatus
from talkinghead.service.runner import STORE_PAUSE_S, Runner, _Worker
from talkinghead.service.settings import Settings
from talkinghead.service.store import SQLiteJobStore
from tests.service.conftest import mounted_tmpfs


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path, "4m") as mount:
        yield mount


def fill(disk: Path, name: str) -> Path:
    """Write a file until the disk has no byte left."""
    filler = disk / name
    try:
        with open(filler, "wb") as out:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
    except OSError:  # full (perhaps before a byte of it was written)
        pass
    return filler


class AliveStub:
    """Stands in for a worker process (the test plays the worker through the pipe)."""

    exitcode = None

    def is_alive(self) -> bool:
        return True


def new_job(job_id: str, at: float) -> Job:
    return Job(id=job_id, model="m", owner="o", created_at=at, options={}, input={},
               enable_base64_output=False, webhook_url=None, base_url="http://x")


def test_a_full_disk_fails_jobs_it_cannot_record_and_dispatch_resumes(
        tiny_disk: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = SQLiteJobStore(tiny_disk / "jobs.sqlite3")
    finished: list[Job] = []
    runner = Runner(Settings(api_keys=("k",), workers=1, data_dir=tiny_disk), store,
                    on_finished=finished.append)
    runner.paths.inputs.mkdir()
    runner.paths.outputs.mkdir()
    ours, theirs = mp.Pipe()
    runner._workers = [_Worker(0, AliveStub(), ours)]  # type: ignore[arg-type]
    now = time.time()
    for i, job_id in enumerate(("big", "small", "queued")):
        store.create(new_job(job_id, now + i))
    runner._dispatch()  # "big" goes to the worker
    assert isinstance(theirs.recv(), Task) and store.get("big").status is JobStatus.PROCESSING
    runner._workers[0].job_id = None
    runner._dispatch()
    theirs.recv()
    (runner.paths.input_dir("big")).mkdir()
    (runner.paths.input_dir("big") / "image").write_bytes(b"\0" * 200_000)
    caplog.set_level(logging.WARNING, logger="talkinghead.service")
    filler = fill(tiny_disk, "filler")

    # The worker reports both done; neither ending can be written as it is.
    runner._handle(Done(0, "small", 10, False))
    runner._handle(Done(0, "big", 10, False))
    big = store.get("big")
    assert big.status is JobStatus.FAILED and big.error.startswith("disk full")  # its files
    assert not runner.paths.input_dir("big").exists()  # went first, which made room
    small = store.get("small")
    if small.status is JobStatus.PROCESSING:  # nothing of its own to free: kept, not lost
        assert "small" in runner._unwritten

    # Dispatch keeps trying (about 25 times), quietly, while the disk stays full.
    refill = fill(tiny_disk, "refill")  # what "big" freed
    end = time.monotonic() + 2.5 * STORE_PAUSE_S
    while time.monotonic() < end:
        runner._dispatch()
        time.sleep(0.1)
    assert store.get("queued").status is JobStatus.CREATED
    assert not theirs.poll()

    filler.unlink()  # space comes back: no restart
    refill.unlink(missing_ok=True)
    time.sleep(STORE_PAUSE_S)
    runner._dispatch()
    small = store.get("small")
    assert small.status is JobStatus.FAILED and small.error.startswith("disk full")
    assert store.get("queued").status is JobStatus.PROCESSING and theirs.poll()
    assert {job.id for job in finished} == {"big", "small"}
    lines = [r.getMessage() for r in caplog.records]
    # One line as each episode starts and ends (freeing "big" ended the first), none per try.
    assert sum("job store write failed" in line for line in lines) == 2, lines
    assert sum("writable again" in line for line in lines) == 2, lines
    assert len(lines) == 4, lines
    for end in (ours, theirs, runner._wake_r, runner._wake_w):
        end.close()
    store.close()
