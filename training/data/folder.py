"""Clip pairs cut from two folders of audio files (INPUT clips in one, TARGET clips in the
other), read with ``pedalboard.io.AudioFile``.

Choices, stated once:

- Formats: any file whose suffix is one of :data:`AUDIO_SUFFIXES` (wav, flac, mp3, ogg, aiff);
  other files are ignored. Files pedalboard cannot open are skipped and listed in
  ``FolderPairs.skipped`` as ``(path, reason)``, with one warning per dataset, never a crash.
- Rate: every file is resampled on the fly to ``sample_rate`` Hz (``resampled_to``).
- Channels: a mono file is duplicated to stereo; a file with more than two channels keeps its
  first two (front left/right in the WAV, FLAC, AIFF and Vorbis channel orders); a mean would
  fold centre, LFE and surrounds into both sides. ``channels=1`` averages those (at most two).
- Pairing and crops: item ``i`` takes input file ``i mod n_inputs`` and a target file drawn at
  random; each crop of ``crop_seconds`` starts at a random frame. Both draws come from
  ``numpy.random.default_rng([seed, i])``, so an item is the same every time it is read.
- Short files (shorter than the crop) are looped end to end until the crop is full.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from pedalboard.io import AudioFile

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".aiff", ".aif")


def audio_files(folder: Path, pattern: str = "*") -> list[Path]:
    """Audio files directly inside ``folder`` whose names match the glob ``pattern`` (by
    suffix, case-insensitive), sorted by name."""
    return sorted(
        p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
    )


def _match_channels(audio: np.ndarray, channels: int) -> np.ndarray:
    """audio [c, n] -> [channels, n] (rules in the module docstring)."""
    audio = audio[:2]
    if channels == 1:
        return audio.mean(axis=0, keepdims=True)
    return audio if audio.shape[0] == 2 else np.repeat(audio, 2, axis=0)


class FolderPairs(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    """Random crops of random (input, target) file pairs:
    ``{"input": Tensor[C, T], "target": Tensor[C, T]}``, float32 at ``sample_rate`` Hz,
    ``C = channels``, ``T = round(crop_seconds * sample_rate)``.

    n_items: dataset length (default: the larger file count of the two folders).
    input_glob, target_glob: file-name patterns, e.g. ``"input_*"`` / ``"target_*"`` to read
    a ``creative-agent demo-data`` folder passed as both ``input_dir`` and ``target_dir``.
    Raises ``ValueError`` naming the folder when a folder is missing or holds no readable
    audio file.
    """

    def __init__(
        self,
        input_dir: str | Path,
        target_dir: str | Path,
        sample_rate: int = 44100,
        channels: int = 2,
        crop_seconds: float = 4.0,
        n_items: int | None = None,
        seed: int = 0,
        input_glob: str = "*",
        target_glob: str = "*",
    ) -> None:
        if channels not in (1, 2):
            raise ValueError(f"FolderPairs: channels must be 1 or 2, got {channels}")
        if sample_rate < 8000:
            raise ValueError(f"FolderPairs: sample_rate must be >= 8000 Hz, got {sample_rate}")
        self.sample_rate, self.channels, self.seed = sample_rate, channels, seed
        self.crop = int(round(crop_seconds * sample_rate))
        if self.crop < 1:
            raise ValueError(f"FolderPairs: crop_seconds must give >= 1 sample, got {crop_seconds}")
        self.skipped: list[tuple[Path, str]] = []
        self._warned = False
        self.inputs = self._scan(Path(input_dir), input_glob, "input_dir")
        self.targets = self._scan(Path(target_dir), target_glob, "target_dir")
        self.n_items = max(len(self.inputs), len(self.targets)) if n_items is None else n_items
        if self.n_items < 1:
            raise ValueError(f"FolderPairs: n_items must be >= 1, got {n_items}")

    def _skip(self, path: Path, reason: str) -> None:
        self.skipped.append((path, reason))
        if not self._warned:
            self._warned = True
            log.warning(
                "skipping unreadable audio file %s (%s); see .skipped for all", path, reason
            )

    def _scan(self, folder: Path, pattern: str, field: str) -> list[tuple[Path, int]]:
        """Readable audio files of a folder with their length in frames at ``sample_rate``."""
        if not folder.is_dir():
            raise ValueError(f"FolderPairs: {field} {folder} is not a directory")
        found: list[tuple[Path, int]] = []
        for path in audio_files(folder, pattern):
            try:
                with AudioFile(str(path)) as f:
                    frames = int(f.frames * self.sample_rate / f.samplerate)
            except Exception as exc:  # pedalboard raises several types for bad files
                self._skip(path, f"{type(exc).__name__}: {exc}")
                continue
            if frames < 1:
                self._skip(path, "no audio frames")
                continue
            found.append((path, frames))
        if not found:
            raise ValueError(
                f"FolderPairs: {field} {folder} holds no readable audio file matching "
                f"{pattern!r} ({', '.join(AUDIO_SUFFIXES)}; {len(self.skipped)} skipped so far)"
            )
        return found

    def __len__(self) -> int:
        return self.n_items

    def read_crop(self, path: Path, frames: int, rng: np.random.Generator) -> np.ndarray:
        """A random crop of one file: float32 [channels, T] (looped if the file is short)."""
        start = int(rng.integers(0, frames - self.crop + 1)) if frames > self.crop else 0
        with AudioFile(str(path)) as raw, raw.resampled_to(self.sample_rate) as f:
            f.seek(start)
            audio = f.read(min(self.crop, frames))
        if audio.shape[-1] == 0:
            raise ValueError("decoded no audio")
        if audio.shape[-1] < self.crop:
            audio = np.tile(audio, (1, -(-self.crop // audio.shape[-1])))[:, : self.crop]
        return np.ascontiguousarray(_match_channels(audio, self.channels), dtype=np.float32)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if not -self.n_items <= i < self.n_items:
            raise IndexError(f"FolderPairs index {i} out of range for {self.n_items} items")
        i %= self.n_items
        rng = np.random.default_rng([self.seed, i])
        pair: dict[str, torch.Tensor] = {}
        for key, files, first in (
            ("input", self.inputs, i % len(self.inputs)),
            ("target", self.targets, int(rng.integers(len(self.targets)))),
        ):
            # a file that opened at scan time but fails to decode now: skip it, try the next
            for attempt in range(len(files)):
                path, frames = files[(first + attempt) % len(files)]
                try:
                    pair[key] = torch.from_numpy(self.read_crop(path, frames, rng))
                    break
                except Exception as exc:  # decode errors come in several types
                    self._skip(path, f"{type(exc).__name__}: {exc}")
            else:
                raise RuntimeError(f"FolderPairs: no {key} file could be read ({len(files)} tried)")
        return pair
