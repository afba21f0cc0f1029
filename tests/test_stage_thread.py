"""Prefetch and OrderedWorker: order, bounded look-ahead, errors handed to the caller,
stopping on an error path (real threads)."""

import threading
import time
from collections.abc import Iterator

import pytest

from plugin_host.stage_thread import OrderedWorker, Prefetch


def test_prefetch_yields_in_order_and_stays_bounded() -> None:
    made: list[int] = []

    def gen() -> Iterator[int]:
        for i in range(20):
            made.append(i)
            yield i

    p = Prefetch(gen, depth=2)
    it = iter(p)
    assert next(it) == 0
    time.sleep(0.2)  # let the thread run ahead as far as it may
    assert len(made) <= 4  # the item taken, 2 queued, 1 waiting to be put
    assert [0, *it] == list(range(20))
    p.close()


def test_prefetch_hands_its_error_to_the_consumer() -> None:
    def gen() -> Iterator[int]:
        yield 1
        raise ValueError("bad block")

    p = Prefetch(gen)
    with pytest.raises(ValueError, match="bad block"):
        list(p)
    p.close()


def test_prefetch_close_stops_a_producer_blocked_on_a_full_queue() -> None:
    def endless() -> Iterator[int]:
        i = 0
        while True:
            yield i
            i += 1

    p = Prefetch(endless, depth=1)
    assert next(iter(p)) == 0
    p.close()  # returns: the thread saw the stop flag
    assert not any(t.name == "prefetch" and t.is_alive() for t in threading.enumerate())


def test_worker_keeps_order_and_raises_an_items_error_at_the_next_call() -> None:
    seen: list[int] = []
    w: OrderedWorker[int] = OrderedWorker(seen.append, depth=2)
    for i in range(50):
        w.submit(i)
    w.close()
    assert seen == list(range(50))

    def fail(i: int) -> None:
        if i == 3:
            raise OSError("disk full")

    w2: OrderedWorker[int] = OrderedWorker(fail)
    with pytest.raises(OSError, match="disk full"):
        for i in range(100):
            w2.submit(i)
        w2.close()


def test_worker_abort_drops_the_queue_and_returns() -> None:
    release = threading.Event()
    done: list[int] = []

    def slow(i: int) -> None:
        release.wait(5)
        done.append(i)

    w: OrderedWorker[int] = OrderedWorker(slow, depth=2)
    for i in range(3):
        w.submit(i)
    threading.Timer(0.2, release.set).start()  # item 0 ends while abort() waits for it
    w.abort()
    assert done == [0]  # the item being worked on when the abort came, no other


def test_unthreaded_stages_run_on_the_callers_thread() -> None:
    """threaded=False (a render given one thread): the same results, no thread started."""
    caller = threading.get_ident()
    where: list[int] = []

    def gen() -> Iterator[int]:
        for i in range(5):
            where.append(threading.get_ident())
            yield i

    p = Prefetch(gen, threaded=False)
    assert list(p) == list(range(5))
    p.close()
    seen: list[int] = []

    def take(i: int) -> None:
        seen.append(i)
        where.append(threading.get_ident())

    w: OrderedWorker[int] = OrderedWorker(take, threaded=False)
    for i in range(3):
        w.submit(i)
    w.close()
    assert seen == [0, 1, 2] and set(where) == {caller}
