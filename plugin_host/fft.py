"""The host's real FFTs along the last axis: float32 frames -> complex64 spectra and back,
optionally written into a given array, on ``workers`` threads.

They are ``scipy.fft.rfft`` / ``scipy.fft.irfft`` (the same pocketfft code, the same values)
called one level lower, through the pocketfft binding under ``scipy.fft``, for two reasons
measured on this project's 2-core machine:

- ``out=``: ``scipy.fft`` has none; the streamed renderer writes each chunk's spectra into
  its preallocated buffers (``plugin_host/frame_store.py``) instead of fresh arrays;
- start-up: ``import scipy.fft`` also imports scipy.special and scipy's array-API layer,
  0.15-0.29 s of a 0.5 s ``creative-agent render`` cold start (``python -X importtime``),
  in every process (each render-batch worker too). The binding alone loads in 1 ms, so its
  extension file is loaded from scipy's folder without running ``scipy/fft/__init__.py``.

When scipy's layout differs (no such file, or it fails to load), ``scipy.fft`` is imported
and used instead, copying into ``out``: the same values, a slower start.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import os
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

log = logging.getLogger(__name__)

BINDING = "scipy.fft._pocketfft.pypocketfft"  # the extension module's name inside scipy
_NORM_NONE, _NORM_BACKWARD = 0, 2  # pocketfft's inorm: scipy's "backward" default (1/n inverse)


def _load_binding() -> ModuleType | None:
    """scipy's pocketfft extension module, loaded from its file (not imported through
    ``scipy.fft``); the one already imported if scipy.fft was; None when not found."""
    if BINDING in sys.modules:
        return sys.modules[BINDING]
    spec = importlib.util.find_spec("scipy")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(spec.submodule_search_locations[0]) / "fft" / "_pocketfft"
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = folder / f"pypocketfft{suffix}"
        if path.is_file():
            loader = importlib.machinery.ExtensionFileLoader(BINDING, str(path))
            found = importlib.util.spec_from_loader(BINDING, loader)
            try:
                assert found is not None
                module = importlib.util.module_from_spec(found)
                loader.exec_module(module)
            except (ImportError, OSError) as exc:
                log.info("scipy's pocketfft binding did not load (%s): using scipy.fft", exc)
                return None
            if hasattr(module, "r2c") and hasattr(module, "c2r"):
                return module
    log.info("no pocketfft binding in %s: using scipy.fft", folder)
    return None


_binding = _load_binding()


def fft_threads(workers: int) -> int:
    """``scipy.fft``'s ``workers`` as a thread count: negative values count back from
    ``os.cpu_count()`` (-1: all of them)."""
    return workers if workers > 0 else max(1, (os.cpu_count() or 1) + 1 + workers)


def rfft(x: np.ndarray, workers: int, out: np.ndarray | None = None) -> np.ndarray:
    """``scipy.fft.rfft(x, axis=-1)``: x float32 [..., n] -> complex64 [..., n // 2 + 1],
    into ``out`` when given (any strides; returned)."""
    if _binding is None:
        import scipy.fft

        spec = scipy.fft.rfft(x, axis=-1, workers=workers)
        if out is None:
            return spec.astype(np.complex64, copy=False)
        out[...] = spec
        return out
    result: np.ndarray = _binding.r2c(x, (x.ndim - 1,), True, _NORM_NONE, out, fft_threads(workers))
    return result


def irfft(spec: np.ndarray, n: int, workers: int, out: np.ndarray | None = None) -> np.ndarray:
    """``scipy.fft.irfft(spec, n, axis=-1)``: complex64 [..., n // 2 + 1] -> float32
    [..., n], into ``out`` when given (returned). ``spec`` is left as it was."""
    if _binding is None:
        import scipy.fft

        seg = scipy.fft.irfft(spec, n=n, axis=-1, workers=workers)
        if out is None:
            return seg.astype(np.float32, copy=False)
        out[...] = seg
        return out
    axis = (spec.ndim - 1,)
    result: np.ndarray = _binding.c2r(
        spec, axis, n, False, _NORM_BACKWARD, out, fft_threads(workers)
    )
    return result
