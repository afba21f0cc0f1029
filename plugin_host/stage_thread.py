"""Stages of a render on their own threads, so that reading, the effect chains, the report
and the writer overlap the agent's FFTs (pedalboard, the audio readers and numpy's FFTs
release the GIL).

- :class:`Prefetch` runs a generator (read a block, run the input/target chains) on a
  thread, ``depth`` items ahead of its consumer.
- :class:`OrderedWorker` applies a function (the report's measures; the output chain,
  gain and write) to items in the order they are submitted, at most ``depth`` waiting.

Both keep memory bounded (``depth`` items), hand an exception raised on their thread to the
caller's thread (re-raised by the next call), and stop when closed, also on an error path.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_POLL_S = 0.05  # a blocked put or get looks at the stop flag this often
_END = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class Prefetch(Generic[T]):
    """Iterate ``make()`` (a generator of T) on a thread, up to ``depth`` items ahead
    (``threaded=False``: on the consumer's thread, as a plain loop)."""

    def __init__(
        self,
        make: Callable[[], Iterator[T]],
        depth: int = 2,
        name: str = "prefetch",
        threaded: bool = True,
    ) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._inline: Iterator[T] | None = None if threaded else make()
        self._thread = threading.Thread(target=self._run, args=(make,), name=name, daemon=True)
        if threaded:
            self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, make: Callable[[], Iterator[T]]) -> None:
        try:
            for item in make():
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the consumer, re-raised there
            self._put(_Failed(exc))
            return
        self._put(_END)

    def __iter__(self) -> Iterator[T]:
        if self._inline is not None:
            yield from self._inline
            return
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item  # type: ignore[misc]

    def close(self) -> None:
        """Stop the thread (at its next item) and wait for it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


class OrderedWorker(Generic[T]):
    """``fn(item)`` for every submitted item, in order, on one thread (``threaded=False``:
    at once, on the submitting thread)."""

    def __init__(
        self,
        fn: Callable[[T], None],
        depth: int = 2,
        name: str = "worker",
        threaded: bool = True,
    ) -> None:
        self._fn = fn
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._threaded = threaded
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        if threaded:
            self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _END or self._stop.is_set():
                return
            try:
                self._fn(item)  # type: ignore[arg-type]
            except BaseException as exc:  # re-raised on the submitting thread
                self._error = exc
                self._stop.set()
                return

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, item: T) -> None:
        """Queue ``item`` (blocks while ``depth`` wait); raises an earlier item's error."""
        if not self._threaded:
            self._fn(item)
            return
        while True:
            self._raise()
            try:
                self._queue.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """Wait for every queued item; raises an item's error."""
        if not self._threaded:
            return
        while self._thread.is_alive():
            try:
                self._queue.put(_END, timeout=_POLL_S)
                break
            except queue.Full:
                continue
        self._thread.join()
        self._raise()

    def abort(self) -> None:
        """Stop without finishing the queue (an error path); never raises."""
        self._stop.set()
        if not self._threaded:
            return
        while True:  # unblock the thread if it waits for an item
            try:
                self._queue.put_nowait(_END)
                break
            except queue.Full:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    continue
        self._thread.join()
