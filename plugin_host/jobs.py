"""A bounded job queue with one worker thread (renders run one at a time, in order).

A job is a callable ``work(progress, cancel) -> result``: ``progress(fraction)`` reports
0..1 (the queue rate-limits what reaches ``on_progress``), ``cancel`` is a
``threading.Event`` the work checks. Every submitted job gets exactly one
``on_finish(job, result, error)`` call: after it ran, failed, or was cancelled while
queued (``error`` is then a :class:`JobCancelled`). Callbacks run on the worker thread,
except a queued job's cancellation, which runs on the thread that cancelled it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

ProgressFn = Callable[[float], None]
Work = Callable[[ProgressFn, threading.Event], Any]


class QueueFull(RuntimeError):
    """The queue holds ``maxsize`` waiting jobs already."""


class DuplicateJob(ValueError):
    """A job id or claim (e.g. an output path) is already held by a waiting/running job."""


class JobCancelled(RuntimeError):
    """A job was cancelled before it started (or the queue shut down)."""


@dataclass(eq=False)
class Job:
    """One unit of work and its callbacks; ``state`` is queued/running/finished."""

    job_id: str
    work: Work
    on_finish: Callable[[Job, Any, BaseException | None], None]
    on_progress: Callable[[Job, float], None] | None = None
    claims: frozenset[str] = frozenset()
    cancel: threading.Event = field(default_factory=threading.Event)
    state: str = "queued"
    submitted_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    finished_at: float | None = None


class JobQueue:
    """At most ``maxsize`` waiting jobs plus one running; one worker thread.

    progress_interval_s: minimum seconds between two progress callbacks of one job
    (0.1 s = at most 10 per second), except that 1.0 is always forwarded; a callback is
    also skipped unless the fraction grew.
    """

    def __init__(
        self, maxsize: int = 8, progress_interval_s: float = 0.1, name: str = "job-worker"
    ) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize}")
        self.maxsize = maxsize
        self.progress_interval_s = progress_interval_s
        self._name = name
        self._waiting: deque[Job] = deque()
        self._running: Job | None = None
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.finished = {"done": 0, "failed": 0, "cancelled": 0}

    # ------------------------------------------------------------------ queries
    def queued_ids(self) -> list[str]:
        with self._cond:
            return [j.job_id for j in self._waiting]

    @property
    def running_id(self) -> str | None:
        with self._cond:
            return self._running.job_id if self._running else None

    def __len__(self) -> int:
        with self._cond:
            return len(self._waiting)

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
            self._thread.start()

    def submit(
        self,
        job_id: str,
        work: Work,
        on_finish: Callable[[Job, Any, BaseException | None], None],
        on_progress: Callable[[Job, float], None] | None = None,
        claims: Iterable[str] = (),
    ) -> tuple[Job, int]:
        """Queue ``work``; returns the job and its position (1 = runs next). Raises
        QueueFull, DuplicateJob, or JobCancelled if the queue is shutting down."""
        job = Job(job_id, work, on_finish, on_progress, frozenset(claims))
        with self._cond:
            if self._stopping:
                raise JobCancelled("server is shutting down")
            active = list(self._waiting) + ([self._running] if self._running else [])
            for other in active:
                if other.job_id == job_id:
                    raise DuplicateJob(f"job {job_id!r} is already {other.state}")
                clash = other.claims & job.claims
                if clash:
                    raise DuplicateJob(
                        f"{sorted(clash)[0]} is already used by job {other.job_id!r}"
                    )
            if len(self._waiting) >= self.maxsize:
                raise QueueFull(f"queue full ({self.maxsize} jobs waiting)")
            self._waiting.append(job)
            position = len(self._waiting) + (1 if self._running else 0)
            self._cond.notify_all()
        return job, position

    def cancel(self, job_id: str) -> str:
        """Cancel a waiting job (its on_finish runs now with JobCancelled) or signal the
        running one (its work sees ``cancel`` set). Returns 'queued' or 'running';
        KeyError if no such job is waiting or running."""
        with self._cond:
            if self._running is not None and self._running.job_id == job_id:
                self._running.cancel.set()
                return "running"
            job = next((j for j in self._waiting if j.job_id == job_id), None)
            if job is None:
                raise KeyError(job_id)
            self._waiting.remove(job)
        job.cancel.set()
        self._finish(job, None, JobCancelled("before it started"))
        return "queued"

    def shutdown(self, timeout: float = 30.0, finish_running: bool = False) -> bool:
        """Stop: waiting jobs are cancelled, the running one is cancelled (or, with
        ``finish_running``, allowed to finish); waits up to ``timeout`` s for the worker.
        Returns True if the worker stopped in time."""
        with self._cond:
            self._stopping = True
            dropped = list(self._waiting)
            self._waiting.clear()
            if self._running is not None and not finish_running:
                self._running.cancel.set()
            self._cond.notify_all()
            thread = self._thread
        for job in dropped:
            job.cancel.set()
            self._finish(job, None, JobCancelled("server is shutting down"))
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # ------------------------------------------------------------------ worker
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._waiting and not self._stopping:
                    self._cond.wait()
                if not self._waiting:  # stopping and nothing left
                    return
                job = self._waiting.popleft()
                job.state = "running"
                job.started_at = time.monotonic()
                self._running = job
            result: Any = None
            error: BaseException | None = None
            try:
                result = job.work(self._progress_fn(job), job.cancel)
            except Exception as exc:  # reported to the job's owner, never lost
                error = exc
            with self._cond:
                self._running = None
            self._finish(job, result, error)

    def _progress_fn(self, job: Job) -> ProgressFn:
        last = {"t": -1e9, "f": -1.0}

        def progress(fraction: float) -> None:
            if job.on_progress is None:
                return
            now = time.monotonic()
            f = min(max(float(fraction), 0.0), 1.0)
            if f <= last["f"] or (f < 1.0 and now - last["t"] < self.progress_interval_s):
                return  # completion (1.0) is always forwarded, once
            last["t"], last["f"] = now, f
            try:
                job.on_progress(job, f)
            except Exception:
                log.exception("progress callback of job %s failed", job.job_id)

        return progress

    def _finish(self, job: Job, result: Any, error: BaseException | None) -> None:
        job.state = "finished"
        job.finished_at = time.monotonic()
        kind = (
            "done"
            if error is None
            else "cancelled"
            if isinstance(error, JobCancelled) or job.cancel.is_set()
            else "failed"
        )
        with self._cond:
            self.finished[kind] += 1
        try:
            job.on_finish(job, result, error)
        except Exception:
            log.exception("finish callback of job %s failed", job.job_id)
