"""The host's audio output: blocks in, one file that appears whole or not at all.

:class:`AtomicAudioWriter` resamples float32 [C, n] blocks back to the output rate and
encodes them with pedalboard into a :class:`plugin_host.atomic.AtomicFile` (an unnamed file
in the destination folder): nothing is visible at the destination until :meth:`commit`,
and a failure, a cancel or a kill leaves nothing behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, cast

import numpy as np
from pedalboard.io import AudioFile

from plugin_host.atomic import AtomicFile
from plugin_host.audio_io import check_output_format
from plugin_host.resample import make_resampler

# Written sample format per container: float WAV keeps the render's headroom exactly.
_BIT_DEPTH = {".wav": 32, ".flac": 24, ".aiff": 24}
# pedalboard's name for a container, from the extension (it cannot guess it from a file object).
_FORMAT = {".wav": "wav", ".flac": "flac", ".aiff": "aiff", ".ogg": "ogg", ".mp3": "mp3"}
# With ``sync_early``, the written data is synced whenever this many more input samples
# (frames × channels, 4 bytes each as float32) have been written: 2 MiB of float WAV, about
# 6 s of stereo at 44.1 kHz. A render's commit then syncs at most that much (measured on this
# machine's disk: fsync of 2 MB 1.3 ms, of 5 MB 5 ms, of 20 MB 14 ms; the commit's is on the
# critical path, the early ones on the writer's thread).
SYNC_EVERY_SAMPLES = 1 << 19


class AtomicAudioWriter:
    """Writes float32 [channels, n] blocks given at ``source_rate`` Hz (``source_length``
    samples in all) to ``path`` at ``sample_rate`` Hz, exactly ``length`` frames.

    ``finish()`` completes the encoded file; ``commit()`` then links it into place (an
    existing file is replaced only with ``overwrite``); ``discard()`` drops it.
    """

    def __init__(
        self,
        path: Path,
        sample_rate: float,
        channels: int,
        length: int,
        source_rate: float,
        source_length: int,
        *,
        overwrite: bool = False,
        sync_early: bool = False,
    ) -> None:
        """``sync_early``: sync the written data every ``SYNC_EVERY_SAMPLES`` (for a writer
        on a thread of its own: the commit then has little left to sync)."""
        check_output_format(path)
        self.path, self.length, self.channels = path, length, channels
        self.written = 0
        self.sync_early = sync_early
        self._unsynced = 0  # samples written since the last sync
        self._resampler = (
            make_resampler(source_rate, sample_rate, channels, source_length)
            if float(source_rate) != float(sample_rate)
            else None
        )
        self._out = AtomicFile(path, overwrite=overwrite)
        suffix = path.suffix.lower()
        try:
            self._file = AudioFile(
                cast(BinaryIO, self._out.file),  # typeshed's IO[bytes] vs BinaryIO
                "w",
                samplerate=sample_rate,
                num_channels=channels,
                bit_depth=_BIT_DEPTH.get(suffix, 16),
                format=_FORMAT[suffix],
            )
        except BaseException:
            self._out.discard()
            raise

    def write(self, x: np.ndarray) -> None:
        """x: float32 [channels, n] at the source rate."""
        if self._resampler is not None:
            x = self._resampler.process(np.ascontiguousarray(x, np.float32))
        self._put(x)

    def _put(self, x: np.ndarray) -> None:
        x = x[:, : self.length - self.written]
        if x.shape[1]:
            self._file.write(np.ascontiguousarray(x, np.float32))
            self.written += x.shape[1]
            self._unsynced += x.size
            if self.sync_early and self._unsynced >= SYNC_EVERY_SAMPLES:
                self._out.sync_early()
                self._unsynced = 0

    def finish(self) -> None:
        """Flush the resampler, pad to ``length`` with silence, complete the encoding."""
        if self._resampler is not None:
            self._put(self._resampler.process(None))
        if self.written < self.length:
            self._put(np.zeros((self.channels, self.length - self.written), np.float32))
        self._file.close()

    def commit(self) -> Path:
        """Link the finished file into place; returns its path."""
        return self._out.commit()

    def discard(self) -> None:
        """Drop the file (safe to call twice, or after a failed commit)."""
        try:
            if not self._file.closed:
                self._file.close()
        finally:
            self._out.discard()
