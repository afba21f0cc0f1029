"""plugin_host.jobs: the bounded render queue (order, one answer per job, cancel, shutdown)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from plugin_host.jobs import DuplicateJob, Job, JobCancelled, JobQueue, ProgressFn, QueueFull

WAIT_S = 5.0  # generous bound for a worker hand-off on a loaded 2-core machine


class Recorder:
    """Collects on_finish calls; ``wait(n)`` blocks until n jobs finished."""

    def __init__(self) -> None:
        self.finished: list[tuple[str, Any, BaseException | None]] = []
        self.progress: list[tuple[str, float]] = []
        self._cond = threading.Condition()

    def on_finish(self, job: Job, result: Any, error: BaseException | None) -> None:
        with self._cond:
            self.finished.append((job.job_id, result, error))
            self._cond.notify_all()

    def on_progress(self, job: Job, fraction: float) -> None:
        self.progress.append((job.job_id, fraction))

    def wait(self, n: int) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.finished) >= n, WAIT_S), self.finished


def blocker() -> tuple[threading.Event, threading.Event, Any]:
    """A job that signals it started, then waits for release (or cancel)."""
    started, release = threading.Event(), threading.Event()

    def work(progress: ProgressFn, cancel: threading.Event) -> str:
        started.set()
        while not release.is_set():
            if cancel.is_set():
                raise RuntimeError("stopped by cancel")
            time.sleep(0.005)
        return "released"

    return started, release, work


@pytest.fixture
def queue() -> Iterator[JobQueue]:
    q = JobQueue(maxsize=3, progress_interval_s=0.1)
    q.start()
    yield q
    q.shutdown(timeout=WAIT_S)


def test_jobs_run_in_order_and_each_finishes_once(queue: JobQueue) -> None:
    rec = Recorder()
    order: list[int] = []

    def make(i: int) -> Any:
        def work(progress: ProgressFn, cancel: threading.Event) -> int:
            order.append(i)
            return i * 10

        return work

    for i in range(3):
        queue.submit(f"j{i}", make(i), rec.on_finish)
    rec.wait(3)
    time.sleep(0.05)  # nothing else may arrive
    assert order == [0, 1, 2]
    assert [(j, r, e) for j, r, e in rec.finished] == [
        ("j0", 0, None),
        ("j1", 10, None),
        ("j2", 20, None),
    ]
    assert queue.finished == {"done": 3, "failed": 0, "cancelled": 0}


def test_a_failing_job_reports_its_error(queue: JobQueue) -> None:
    rec = Recorder()

    def boom(progress: ProgressFn, cancel: threading.Event) -> None:
        raise ValueError("bad clip")

    queue.submit("x", boom, rec.on_finish)
    rec.wait(1)
    (_, result, error) = rec.finished[0]
    assert result is None and isinstance(error, ValueError) and str(error) == "bad clip"
    assert queue.finished["failed"] == 1


def test_full_queue_duplicates_and_claims_are_refused(queue: JobQueue) -> None:
    rec = Recorder()
    started, release, work = blocker()
    queue.submit("run", work, rec.on_finish, claims=["/out/a.wav"])
    assert started.wait(WAIT_S)
    positions = [queue.submit(f"w{i}", work, rec.on_finish)[1] for i in range(3)]
    assert positions == [2, 3, 4]  # the running job is ahead of them
    with pytest.raises(QueueFull, match="3 jobs waiting"):
        queue.submit("w3", work, rec.on_finish)
    with pytest.raises(DuplicateJob, match="'run'"):
        queue.submit("run", work, rec.on_finish)
    queue.cancel("w2")
    with pytest.raises(DuplicateJob, match=r"a\.wav"):
        queue.submit("other", work, rec.on_finish, claims=["/out/a.wav"])
    release.set()
    rec.wait(4)
    assert sorted(j for j, _, _ in rec.finished) == ["run", "w0", "w1", "w2"]


def test_cancel_queued_and_running(queue: JobQueue) -> None:
    rec = Recorder()
    started, _release, work = blocker()
    queue.submit("run", work, rec.on_finish)
    assert started.wait(WAIT_S)
    queue.submit("wait", work, rec.on_finish)
    assert queue.queued_ids() == ["wait"] and queue.running_id == "run"
    assert queue.cancel("wait") == "queued"
    assert rec.finished[0][0] == "wait" and isinstance(rec.finished[0][2], JobCancelled)
    assert queue.cancel("run") == "running"
    rec.wait(2)
    assert rec.finished[1][0] == "run" and isinstance(rec.finished[1][2], RuntimeError)
    assert queue.finished == {"done": 0, "failed": 0, "cancelled": 2}
    with pytest.raises(KeyError):
        queue.cancel("run")


def test_progress_is_rate_limited_and_monotonic(queue: JobQueue) -> None:
    rec = Recorder()

    def chatty(progress: ProgressFn, cancel: threading.Event) -> None:
        t0 = time.monotonic()
        i = 0
        while time.monotonic() - t0 < 0.35:
            progress(min(i / 1e6, 0.9))
            i += 1
        progress(0.0)  # going backwards is never forwarded
        progress(1.0)  # completion always is, however soon
        progress(1.0)  # once

    queue.submit("p", chatty, rec.on_finish, on_progress=rec.on_progress)
    rec.wait(1)
    fractions = [f for _, f in rec.progress]
    # 0.35 s at <= 10 per second: at most 4 (first call passes at t=0), then 1.0.
    assert 3 <= len(fractions) <= 5 and fractions[-1] == 1.0, fractions
    assert fractions == sorted(fractions) and len(set(fractions)) == len(fractions)


def test_shutdown_cancels_waiting_and_running_jobs() -> None:
    q = JobQueue(maxsize=4)
    q.start()
    rec = Recorder()
    started, _release, work = blocker()
    q.submit("run", work, rec.on_finish)
    assert started.wait(WAIT_S)
    q.submit("a", work, rec.on_finish)
    q.submit("b", work, rec.on_finish)
    assert q.shutdown(timeout=WAIT_S)
    rec.wait(3)
    assert {j for j, _, _ in rec.finished} == {"run", "a", "b"}
    assert all(e is not None for _, _, e in rec.finished)
    with pytest.raises(JobCancelled, match="shutting down"):
        q.submit("late", work, rec.on_finish)


def test_shutdown_can_let_the_running_job_finish() -> None:
    q = JobQueue(maxsize=2)
    q.start()
    rec = Recorder()
    started, release, work = blocker()
    q.submit("run", work, rec.on_finish)
    assert started.wait(WAIT_S)
    threading.Timer(0.1, release.set).start()
    assert q.shutdown(timeout=WAIT_S, finish_running=True)
    assert rec.finished == [("run", "released", None)]


def test_maxsize_must_be_positive() -> None:
    with pytest.raises(ValueError, match="maxsize"):
        JobQueue(maxsize=0)
