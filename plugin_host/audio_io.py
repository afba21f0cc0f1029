"""Audio files in and out of the host, streamed in blocks (pedalboard.io only).

Reading: :func:`probe` checks a file (exists, decodes, 1-2 channels, 8-192 kHz, not empty);
:class:`SourceReader` yields it at the model's rate as float32 [C, n] blocks, channels
mapped, looped or zero-padded to a fixed length, and refuses NaN/Inf samples.
Resampling is :mod:`plugin_host.resample`'s.
Writing: :func:`check_output_format` names the containers the host writes (the writer
itself is :class:`plugin_host.audio_writer.AtomicAudioWriter`).
"""

from __future__ import annotations

import io
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pedalboard.io import AudioFile

from plugin_host.mp3_gapless import gapless_span
from plugin_host.resample import (
    RESAMPLE_ZEROS,
    StreamingResampler,
    make_resampler,
    resampled_length,
)
from plugin_host.wav_raw import RawWav

log = logging.getLogger(__name__)

MIN_RATE, MAX_RATE = 8000, 192000
WRITE_FORMATS = (".wav", ".flac", ".aiff", ".ogg", ".mp3")
# A looped source shorter than this (samples at its own rate) is held in memory.
_PRELOAD_LOOP = 1 << 22


class AudioFileError(ValueError):
    """An audio file that cannot be used (one-line message naming it)."""


@dataclass(frozen=True)
class AudioInfo:
    """A checked audio file: rate in Hz, channels (1 or 2), frames (samples per channel)
    of its audio, which starts ``start`` decoded samples in (an MP3's encoder and decoder
    delay, from its gapless header; 0 for other files)."""

    path: Path
    sample_rate: float
    channels: int
    frames: int
    start: int = 0

    @property
    def duration(self) -> float:
        """Seconds."""
        return self.frames / self.sample_rate


def probe(path: str | os.PathLike[str]) -> AudioInfo:
    """Open ``path`` and check it is usable; raises :class:`AudioFileError`."""
    p = Path(path)
    if not p.exists():
        raise AudioFileError(f"{p}: file not found")
    if not p.is_file():
        raise AudioFileError(f"{p}: not a regular file")
    if p.stat().st_size == 0:
        raise AudioFileError(f"{p}: empty file (0 bytes)")
    try:
        with AudioFile(str(p)) as f:
            info = AudioInfo(p, float(f.samplerate), int(f.num_channels), int(f.frames))
    except (ValueError, RuntimeError, OSError) as exc:
        raise AudioFileError(f"{p}: not a readable audio file ({_reason(exc)})") from exc
    if info.frames <= 0:
        raise AudioFileError(f"{p}: no audio (0 samples)")
    if info.channels not in (1, 2):
        raise AudioFileError(
            f"{p}: {info.channels} channels; only mono or stereo files are supported"
        )
    if not MIN_RATE <= info.sample_rate <= MAX_RATE:
        raise AudioFileError(
            f"{p}: sample rate {info.sample_rate:g} Hz outside {MIN_RATE}-{MAX_RATE} Hz"
        )
    if p.suffix.lower() == ".mp3":
        span = gapless_span(p, info.frames)
        if span is not None:
            info = AudioInfo(p, info.sample_rate, info.channels, span.length, span.start)
    return info


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.removeprefix("Failed to open audio file: ")


def map_channels(x: np.ndarray, channels: int) -> np.ndarray:
    """[c, n] -> [channels, n]: mono is copied to both sides, stereo averaged to mono."""
    if x.shape[0] == channels:
        return x
    if channels == 2:
        return np.repeat(x[:1], 2, axis=0)
    return x.mean(axis=0, keepdims=True)


class SourceReader:
    """``info`` read at ``sample_rate`` as float32 [channels, n] blocks, exactly ``total``
    samples in all: the file (channels mapped) looped (``loop=True``) or followed by
    silence, then resampled as one continuous stream (a loop point is seamless in time).

    Raises :class:`AudioFileError` on NaN/Inf samples (naming the time) or a read failure.
    """

    def __init__(
        self, info: AudioInfo, sample_rate: int, channels: int, total: int, loop: bool
    ) -> None:
        self.info, self.sample_rate, self.channels = info, sample_rate, channels
        self.total, self.loop = total, loop
        self.position = 0  # samples delivered
        self._file = AudioFile(str(info.path))
        self._file.seek(info.start)
        raw = RawWav.of(info)  # a float WAV is read as stored (the same samples, faster)
        self._raw = raw if raw is not None and raw.exact else None
        self._raw_file: io.BufferedReader | None = None  # opened at the first read
        self._file_pos = 0  # samples of the audio read from the file in this pass
        self._src_pos = 0  # position inside one pass of the file
        self._native_left: int | None = None  # native samples still to produce (None: file)
        self._resampler: StreamingResampler | None = None
        self._pending = np.zeros((channels, 0), np.float32)
        self._loaded: np.ndarray | None = None
        if float(info.sample_rate) != float(sample_rate):
            # native samples that feed `total` outputs (plus the filter's reach, for loops)
            native = math.ceil(total * info.sample_rate / sample_rate) + 1
            if loop:
                native += RESAMPLE_ZEROS * 2 + 64
            self._native_left = native
            self._resampler = make_resampler(info.sample_rate, sample_rate, channels, native)
        length = resampled_length(info.frames, info.sample_rate, sample_rate)
        if loop and length < total and info.frames <= _PRELOAD_LOOP:
            try:
                self._loaded = self._read_all()
            except BaseException:
                self.close()
                raise

    def _read_all(self) -> np.ndarray:
        parts, got = [], 0
        while True:
            x = self._read_file(1 << 16)
            if x.shape[1] == 0:
                break
            parts.append(x)
            got += x.shape[1]
        if not got:
            raise AudioFileError(f"{self.info.path}: no audio could be decoded")
        return map_channels(np.concatenate(parts, axis=1), self.channels)

    def _read_file(self, n: int) -> np.ndarray:
        """Up to ``n`` more samples of the audio's span (empty at its end)."""
        n = min(n, self.info.frames - self._file_pos)
        if n <= 0:
            return np.zeros((self.info.channels, 0), np.float32)
        try:
            if self._raw is not None:
                if self._raw_file is None:
                    self._raw_file = open(self.info.path, "rb")  # noqa: SIM115 - close()
                x = self._raw.read(self._raw_file, self._file_pos, n)
            else:
                x = self._file.read(n)
        except (RuntimeError, ValueError, OSError) as exc:
            raise AudioFileError(f"{self.info.path}: read failed ({_reason(exc)})") from exc
        if not np.isfinite(x).all():
            bad = int(np.argmax(~np.isfinite(x).all(axis=0)))
            at = (self._file_pos + bad) / self.info.sample_rate
            raise AudioFileError(f"{self.info.path}: NaN or Inf sample at {at:.3f} s")
        self._file_pos += x.shape[1]
        return x

    def _rewind(self) -> None:
        self._file.seek(self.info.start)
        self._file_pos = 0

    def _native(self, n: int) -> np.ndarray:
        """The next ``n`` samples of the file at its own rate: looped or then silence."""
        out = np.zeros((self.channels, n), np.float32)
        filled = 0
        while filled < n:
            if self._loaded is not None:
                src = self._loaded
                take = min(n - filled, src.shape[1] - self._src_pos)
                out[:, filled : filled + take] = src[:, self._src_pos : self._src_pos + take]
                self._src_pos = (self._src_pos + take) % src.shape[1]
                filled += take
                continue
            x = self._read_file(n - filled)
            if x.shape[1] == 0:
                if not self.loop or self._src_pos == 0:
                    break  # past the end: silence
                self._rewind()
                self._src_pos = 0
                continue
            out[:, filled : filled + x.shape[1]] = map_channels(x, self.channels)
            self._src_pos += x.shape[1]
            filled += x.shape[1]
        return out

    def read(self, n: int) -> np.ndarray:
        """The next ``min(n, remaining)`` samples: float32 [channels, m]."""
        n = min(n, self.total - self.position)
        if self._resampler is None:
            out = self._native(n)
        else:
            parts, have = [self._pending], self._pending.shape[1]
            while have < n:
                if self._native_left:
                    step = min(1 << 16, self._native_left)
                    self._native_left -= step
                    y = self._resampler.process(self._native(step))
                else:
                    y = self._resampler.process(None)
                    if y.shape[1] == 0:  # the resampler is drained: silence
                        y = np.zeros((self.channels, n - have), np.float32)
                parts.append(y)
                have += y.shape[1]
            joined = np.concatenate(parts, axis=1)
            out, self._pending = joined[:, :n], joined[:, n:]
        self.position += n
        return out

    def close(self) -> None:
        self._file.close()
        if self._raw_file is not None:
            self._raw_file.close()


def check_output_format(path: Path) -> None:
    """Raise :class:`AudioFileError` unless ``path``'s extension is one of ``WRITE_FORMATS``."""
    if path.suffix.lower() not in WRITE_FORMATS:
        raise AudioFileError(
            f"{path}: cannot write {path.suffix or 'files without an extension'}; "
            f"use one of {', '.join(WRITE_FORMATS)}"
        )


class ArrayReader:
    """An in-memory source with :class:`SourceReader`'s interface: ``audio`` float32
    [C, T] already at the model's rate and channel count, read as exactly ``total``
    samples, looped (``loop=True``) or followed by silence (the musical pre-pass's aligned
    TARGET, or a pair read once for variations)."""

    def __init__(self, audio: np.ndarray, total: int, loop: bool) -> None:
        self.audio = np.asarray(audio, np.float32)
        self.total, self.loop = total, loop
        self.position = 0  # samples delivered

    def read(self, n: int) -> np.ndarray:
        """The next ``min(n, remaining)`` samples: float32 [C, m]."""
        n = min(n, self.total - self.position)
        length = self.audio.shape[1]
        out = np.zeros((self.audio.shape[0], n), np.float32)
        filled = 0
        while filled < n and length:
            src = self.position + filled
            if self.loop:
                src %= length
            elif src >= length:
                break
            take = min(n - filled, length - src)
            out[:, filled : filled + take] = self.audio[:, src : src + take]
            filled += take
        self.position += n
        return out

    def close(self) -> None:
        """Nothing to release (the interface of :class:`SourceReader`)."""
