"""Audio files of the benchmarks: whole-file reads, and atomic 32-bit float WAV writes
(``plugin_host.atomic``) of one array or of a pair tiled to any length."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, cast

import numpy as np
from pedalboard.io import AudioFile

from bench.config import SAMPLE_RATE
from plugin_host.atomic import AtomicFile

WAV_BIT_DEPTH = 32  # float WAV: what the host writes for .wav


def read_audio(path: Path, sample_rate: int) -> np.ndarray:
    """A whole file as float32 [C, T] at ``sample_rate`` Hz (resampled when it differs)."""
    with AudioFile(str(path)) as f:
        if float(f.samplerate) == float(sample_rate):
            return np.asarray(f.read(f.frames), np.float32)
        with f.resampled_to(sample_rate) as r:
            return np.asarray(r.read(r.frames), np.float32)


def write_audio(
    path: Path, audio: np.ndarray, sample_rate: int, bit_depth: int = WAV_BIT_DEPTH
) -> None:
    """float32 [C, T] to a WAV at ``path`` (``sample_rate`` Hz, ``bit_depth`` bits; 32 is
    float), atomically."""
    write_tiled(path, audio, audio.shape[-1], sample_rate, bit_depth)


def write_tiled(
    path: Path, audio: np.ndarray, n: int, sample_rate: int, bit_depth: int = WAV_BIT_DEPTH
) -> None:
    """``audio`` (float32 [C, T]) cut or repeated to ``n`` samples, streamed to a WAV at
    ``path`` atomically (a long file never sits in memory whole)."""
    with AtomicFile(path) as af:
        sink = cast(BinaryIO, af.file)  # pedalboard's stubs want BinaryIO, not IO[bytes]
        channels = audio.shape[0]
        with AudioFile(sink, "w", sample_rate, channels, bit_depth, format="wav") as f:
            done = 0
            while done < n:
                take = min(n - done, audio.shape[1])
                f.write(np.ascontiguousarray(audio[:, :take], np.float32))
                done += take


def write_pair(
    base: tuple[np.ndarray, np.ndarray], seconds: float, folder: Path, name: str
) -> tuple[Path, Path]:
    """The pair ``base`` (float32 [C, T] each, at :data:`SAMPLE_RATE`) cut or tiled to
    ``seconds``, written to ``NAME_input.wav`` and ``NAME_target.wav`` in ``folder``."""
    n = round(seconds * SAMPLE_RATE)
    paths = (folder / f"{name}_input.wav", folder / f"{name}_target.wav")
    for path, x in zip(paths, base, strict=True):
        write_tiled(path, x, n, SAMPLE_RATE)
    return paths
