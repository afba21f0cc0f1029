"""The clip pairs ``creative-agent evaluate`` judges a model on, and the signals it measures.

A pair folder holds ``NAME_input.EXT`` / ``NAME_target.EXT`` files (or ``input_NAME.EXT`` /
``target_NAME.EXT``, as ``creative-agent demo-data`` writes them), EXT one of
:data:`AUDIO_EXTS`. Other files are ignored; a half of a pair without its other half, two
files for one half, or a folder with no pair is an :class:`EvaluateError`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np
from pedalboard.io import AudioFile

from plugin_host.atomic import AtomicFile
from plugin_host.audio_io import SourceReader, probe
from plugin_host.resample import resampled_length

AUDIO_EXTS = (".wav", ".wave", ".flac", ".aif", ".aiff", ".ogg", ".mp3")
ROLES = ("input", "target")


class EvaluateError(ValueError):
    """A pair folder or option that cannot be evaluated (one line naming the file or field)."""


@dataclass(frozen=True)
class Pair:
    """One INPUT (rhythm) / TARGET (harmony) pair: ``name`` is the shared part of the names."""

    name: str
    input: Path
    target: Path


def _name_and_role(path: Path) -> tuple[str, str] | None:
    """``(NAME, role)`` for ``NAME_input.wav`` or ``input_NAME.wav`` (suffix form first)."""
    stem = path.stem
    for role in ROLES:
        tag = f"_{role}"
        if stem.endswith(tag) and len(stem) > len(tag):
            return stem[: -len(tag)], role
    for role in ROLES:
        tag = f"{role}_"
        if stem.startswith(tag) and len(stem) > len(tag):
            return stem[len(tag) :], role
    return None


def find_pairs(folder: str | os.PathLike[str]) -> list[Pair]:
    """Every pair in ``folder`` (not its subfolders), sorted by name."""
    root = Path(folder)
    if not root.is_dir():
        raise EvaluateError(f"pairs folder {root}: not a directory")
    found: dict[str, dict[str, Path]] = {}
    for path in sorted(root.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in AUDIO_EXTS:
            continue
        if not path.is_file():
            continue
        parsed = _name_and_role(path)
        if parsed is None:
            continue
        name, role = parsed
        halves = found.setdefault(name, {})
        if role in halves:
            raise EvaluateError(f"{path}: a second {role} for pair {name!r} ({halves[role].name})")
        halves[role] = path
    if not found:
        raise EvaluateError(
            f"pairs folder {root}: no NAME_input.EXT / NAME_target.EXT pairs "
            f"(EXT one of {' '.join(AUDIO_EXTS)})"
        )
    pairs = []
    for name in sorted(found):
        halves = found[name]
        for role in ROLES:
            if role not in halves:
                other = next(iter(halves.values()))
                raise EvaluateError(f"{other}: no matching {role} file for pair {name!r}")
        pairs.append(Pair(name, halves["input"], halves["target"]))
    return pairs


def gained_copy(source: Path, gain_db: float, folder: Path) -> Path:
    """``source`` times ``10 ** (gain_db / 20)`` as a 32-bit float WAV in ``folder`` (at the
    source's rate and channels; float keeps +12 dB peaks above 1.0 unclipped)."""
    info = probe(source)
    with AudioFile(str(source)) as f:
        x = f.read(f.frames)
    y = (x * np.float32(10.0 ** (gain_db / 20.0))).astype(np.float32)
    dest = folder / f"{source.stem}.{gain_db:+g}dB.wav"
    with (
        AtomicFile(dest) as af,
        AudioFile(
            cast(BinaryIO, af.file),
            "w",
            info.sample_rate,
            info.channels,
            bit_depth=32,
            format="wav",
        ) as out,
    ):
        out.write(y)
    return dest


def agent_inputs(
    input_path: Path, target_path: Path, sample_rate: int
) -> tuple[np.ndarray, np.ndarray]:
    """The two signals a render with ``fit="loop"`` feeds the agent (no chains): both at
    ``sample_rate`` Hz, channels mapped to the input's, the target looped or cut to the
    input's length, read by the render's own :class:`~plugin_host.audio_io.SourceReader`.
    Returns float32 [C, T] twice (whole clips in memory)."""
    info_in, info_tg = probe(input_path), probe(target_path)
    total = resampled_length(info_in.frames, info_in.sample_rate, sample_rate)
    out = []
    for info, loop in ((info_in, False), (info_tg, True)):
        reader = SourceReader(info, sample_rate, info_in.channels, total, loop=loop)
        try:
            out.append(reader.read(total))
        finally:
            reader.close()
    return out[0], out[1]
