"""Threads for independent pieces of a render's work (numpy's loops, pocketfft, ONNX
Runtime and pedalboard's processing release the GIL, so they run on several cores)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from plugin_host.dsp import HostDSP


class Lanes:
    """Up to ``n`` threads for independent work: :meth:`run` calls ``fn(i)`` for ``i`` in
    ``range(count)``, ``fn(0)`` on the calling thread and the others on a pool of ``n - 1``
    threads (made once, ended when this object is collected), and returns when all are
    done, raising the first error. ``n = 1``: a plain loop, no thread."""

    def __init__(self, n: int) -> None:
        self.n = max(1, n)
        self._pool = ThreadPoolExecutor(self.n - 1, "render-lane") if self.n > 1 else None

    def run(self, fn: Callable[[int], None], count: int) -> None:
        if self._pool is None or count < 2:
            for i in range(count):
                fn(i)
            return
        futures: list[Future[None]] = [self._pool.submit(fn, i) for i in range(1, count)]
        try:
            fn(0)
        finally:  # the others write into shared buffers: wait for them even on an error
            errors = [f.exception() for f in futures]
        for exc in errors:
            if exc is not None:
                raise exc

    def fft_workers(self, dsp: HostDSP, count: int) -> int:
        """FFT threads inside each of ``count`` parallel calls: 1 when they run on lanes,
        else the DSP's own."""
        return 1 if self._pool is not None and count > 1 else dsp.workers
