"""Audio files that training's commands write (``diagnose --output``, ``demo-data``): one
atomic writer, the format named by the extension, as the host writes them."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, cast

import numpy as np
from pedalboard.io import AudioFile

from plugin_host.atomic import AtomicFile

# Written sample format per container (as the host writes): float WAV keeps the headroom.
BIT_DEPTH = {".wav": 32, ".flac": 24, ".aiff": 24}


def write_audio(path: str | Path, audio: np.ndarray, sample_rate: int, overwrite: bool) -> Path:
    """audio [C, T] float32 at ``sample_rate`` Hz -> ``path`` in the format its extension
    names (32-bit float WAV, 24-bit FLAC/AIFF, encoder default for OGG/MP3), atomically
    (``plugin_host.atomic``); the folder is created if missing."""
    path = Path(path)
    ext = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        AtomicFile(path, overwrite=overwrite) as af,
        AudioFile(
            cast(BinaryIO, af.file),  # AtomicFile.file is a binary file object
            "w",
            sample_rate,
            audio.shape[0],
            format=ext[1:],
            bit_depth=BIT_DEPTH.get(ext, 16),
        ) as f,
    ):
        f.write(np.ascontiguousarray(audio, np.float32))
    return path
