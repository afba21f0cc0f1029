"""Silent sources: a cheap level pre-pass over both files before a render streams.

A source that is digital silence, or more than ``SILENT_BELOW_DB`` dB below the other (mean
power over all its samples and channels, at its own rate), would make the agent mute or
bury the other one (its masks are trained on two audible sources). The render then passes
the audible source through at its own level instead: :class:`PassThroughModel` replaces the
core by fixed masks (1 for the kept source, 0 for the other), so the streamed STFT and
overlap-add give back the kept source to float32 rounding and the report stays defined.
Pairs within ``SILENT_BELOW_DB`` of each other render exactly as before (nothing changes).

The pre-pass reads both files once more than the render does, both at once unless the render
has one thread (both cores are free then). For a WAV of 32-bit float or 16-bit PCM samples it reads them as
they lie in the file (:mod:`plugin_host.wav_raw`), without decoding, into one 256 KB buffer
(measured on a 60 s stereo float WAV: 3.3 ms, against 4.1 ms for mapped 4 MB blocks, whose
page faults cost more than the copy); other files are decoded by pedalboard (same samples:
:func:`decoded_mean_power`).
"""

from __future__ import annotations

import dataclasses
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from pedalboard.io import AudioFile

from plugin_host.audio_io import AudioFileError, AudioInfo
from plugin_host.runtime import LoadedModel
from plugin_host.wav_raw import RawWav

SILENT_BELOW_DB = 40.0  # a source this far below the other counts as silent
_BLOCK = 1 << 16  # frames per decoded read, values per raw read, of the pre-pass


def mean_power(info: AudioInfo) -> float:
    """Mean of x² over every sample and channel of the file's audio (linear, full scale 1):
    read as stored for a WAV of 32-bit float or 16-bit PCM (:class:`RawWav`), else
    decoded."""
    raw = RawWav.of(info)
    if raw is None:
        return decoded_mean_power(info)
    count = info.frames * info.channels
    total = 0.0
    try:
        for block in raw.blocks(count, _BLOCK):
            x = np.asarray(block, np.float32)
            total += float(np.dot(x, x))
    except OSError as exc:
        raise AudioFileError(f"{info.path}: read failed ({exc})") from exc
    return total / count / (raw.scale * raw.scale)


def decoded_mean_power(info: AudioInfo) -> float:
    """:func:`mean_power` of the samples pedalboard decodes (any format it reads)."""
    total, count = 0.0, 0
    try:
        with AudioFile(str(info.path)) as f:
            f.seek(info.start)
            while count < info.frames * info.channels:
                x = f.read(min(_BLOCK, info.frames - count // info.channels))
                if x.shape[1] == 0:
                    break
                flat = np.ascontiguousarray(x, np.float32).reshape(-1)
                total += float(np.dot(flat, flat))
                count += flat.size
    except (RuntimeError, ValueError, OSError) as exc:
        raise AudioFileError(f"{info.path}: read failed ({exc})") from exc
    return total / count if count else 0.0


def level_db(power: float) -> float:
    """Mean power -> dBFS (-inf for digital silence)."""
    return 10.0 * math.log10(power) if power > 0 else -math.inf


@dataclass(frozen=True)
class SourceCheck:
    """The pre-pass's finding: ``keep`` is ``"input"`` or ``"target"`` (pass that one
    through), or None (render normally); ``warning`` is a sentence for people, or None."""

    keep: str | None
    warning: str | None
    level_db: dict[str, float]


def check_sources(info_in: AudioInfo, info_tg: AudioInfo, parallel: bool = True) -> SourceCheck:
    """Compare the levels of both files (one read of each; with ``parallel`` the target's
    on a second thread meanwhile)."""
    if parallel:
        with ThreadPoolExecutor(1, "levels") as pool:
            target = pool.submit(mean_power, info_tg)
            power_in = mean_power(info_in)
            power_tg = target.result()
    else:
        power_in, power_tg = mean_power(info_in), mean_power(info_tg)
    levels = {"input": level_db(power_in), "target": level_db(power_tg)}
    names = {"input": info_in.path, "target": info_tg.path}
    if levels["input"] == levels["target"] == -math.inf:
        return SourceCheck(
            None, "input and target are both digital silence: the output is silent", levels
        )
    for quiet, loud in (("target", "input"), ("input", "target")):
        gap = levels[loud] - levels[quiet]
        if gap > SILENT_BELOW_DB:
            how = (
                "is digital silence"
                if levels[quiet] == -math.inf
                else f"is {gap:.1f} dB below the {loud} (more than {SILENT_BELOW_DB:g} dB)"
            )
            text = f"{quiet} {names[quiet]} {how}: the {loud} passes through at its own level"
            return SourceCheck(loud, text, levels)
    return SourceCheck(None, None, levels)


@dataclass
class PassThroughModel(LoadedModel):
    """``model`` with its core replaced by fixed masks: 1 for ``keep`` ("input" or
    "target"), 0 for the other. Same DSP, metadata and provider; ONNX Runtime is not run."""

    keep: str = "input"

    @classmethod
    def of(cls, model: LoadedModel, keep: str) -> PassThroughModel:
        fields = {f.name: getattr(model, f.name) for f in dataclasses.fields(LoadedModel)}
        return cls(**fields, keep=keep)

    def core(
        self, feat_in: np.ndarray, feat_tg: np.ndarray, balance: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """feat_in, feat_tg: float32 [B, K, N] -> masks [B, K, N] (ones and zeros)."""
        ones, zeros = np.ones_like(feat_in), np.zeros_like(feat_in)
        return (ones, zeros) if self.keep == "input" else (zeros, ones)
