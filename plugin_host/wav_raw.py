"""WAV files whose samples numpy reads as stored: 32-bit float and 16-bit PCM in a RIFF
WAV (plain, or EXTENSIBLE with every bit valid). The host reads these as stored instead of decoding
them with pedalboard; any other file is left to pedalboard.

The level pre-pass maps 4 MB blocks (:meth:`RawWav.values`: 8.3 -> 1.2 ms for 60 s of
stereo float here), each dropped after use (pages of a whole-file mapping would all count
in the process's resident memory as they are read); the render's reader copies its 64k-frame
blocks with ``readinto`` (:meth:`RawWav.read`).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from plugin_host.audio_io import AudioInfo

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE  # WAVE format tags
# (tag, bits) read as stored: numpy dtype and full-scale divisor (pedalboard decodes 16-bit
# PCM as x / 32767)
_RAW = {(_FLOAT, 32): ("<f4", 1.0), (_PCM, 16): ("<i2", 32767.0)}


@dataclass(frozen=True)
class RawWav:
    """The samples of ``path``: ``channels`` interleaved values of ``dtype`` per frame from
    byte ``offset`` on, full scale at ``scale`` (1.0 for float)."""

    path: Path
    offset: int
    dtype: str
    scale: float
    channels: int

    @property
    def exact(self) -> bool:
        """float32 as stored: read values are the decoded samples bit for bit."""
        return self.scale == 1.0

    @classmethod
    def of(cls, info: AudioInfo) -> RawWav | None:
        """``info``'s layout when it is such a WAV holding all its ``info.frames`` frames;
        None for any other file."""
        found = _data_chunk(info.path)
        if found is None or info.start:
            return None
        fmt, offset, available = found
        if fmt is None or fmt[1] != info.channels or (fmt[0], fmt[2]) not in _RAW:
            return None
        if info.frames * info.channels * fmt[2] // 8 > available:
            return None
        dtype, scale = _RAW[(fmt[0], fmt[2])]
        return cls(info.path, offset, dtype, scale, info.channels)

    def blocks(self, count: int, block: int) -> Iterator[np.ndarray]:
        """The first ``count`` interleaved values, ``block`` at a time, each read (with
        ``readinto``) into one buffer reused for every block: a view valid until the next
        one. Raises OSError when the file ends early."""
        buf = np.empty(min(block, count), self.dtype)
        with open(self.path, "rb", buffering=0) as f:
            f.seek(self.offset)
            for s in range(0, count, block):
                view = buf[: min(block, count - s)]
                _read_exactly(f, view)
                yield view

    def read(self, f: io.BufferedReader, frame: int, n: int) -> np.ndarray:
        """Frames ``[frame, frame + n)`` from ``f`` (this file, opened binary) as float32
        [channels, n] at full scale 1 (a new array). Read with ``readinto``, not mapped:
        per 64k-frame block a mapping's page faults cost 8x the copy here. Raises OSError
        when the file is shorter than its header said."""
        c = self.channels
        data = np.empty(n * c, self.dtype)
        f.seek(self.offset + frame * c * data.itemsize)
        _read_exactly(f, data)
        out = np.empty((c, n), np.float32)
        out[...] = data.reshape(n, c).T
        if self.scale != 1.0:
            out /= np.float32(self.scale)
        return out


def _read_exactly(f: io.RawIOBase | io.BufferedIOBase, out: np.ndarray) -> None:
    """Fill ``out`` (contiguous) with the next bytes of ``f``; OSError when the file ends
    first (shorter than its header said)."""
    if f.readinto(out.data.cast("B")) != out.nbytes:
        raise OSError("file ends before its data chunk does")


def _data_chunk(path: Path) -> tuple[tuple[int, int, int] | None, int, int] | None:
    """(format (tag, channels, bits) or None, byte offset of the samples, bytes of samples
    present) of a RIFF WAV; None when ``path`` is not one or has no data chunk."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            fmt: tuple[int, int, int] | None = None
            while True:
                chunk = f.read(8)
                if len(chunk) < 8:
                    return None
                cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if cid == b"fmt ":
                    fmt = _wav_format(f.read(size))
                    f.seek(size % 2, 1)
                elif cid == b"data":
                    offset, end = f.tell(), f.seek(0, 2)
                    return fmt, offset, min(size, end - offset)
                else:
                    f.seek(size + size % 2, 1)
    except OSError:
        return None


def _wav_format(body: bytes) -> tuple[int, int, int] | None:
    """(format tag, channels, bits per sample) of a WAV ``fmt `` chunk; an EXTENSIBLE tag
    is replaced by its sub-format's when all bits are valid, else None."""
    if len(body) < 16:
        return None
    tag, channels, _, _, _, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == _EXTENSIBLE:
        if len(body) < 26 or struct.unpack("<H", body[18:20])[0] != bits:
            return None
        tag = struct.unpack("<H", body[24:26])[0]
    return tag, channels, bits
