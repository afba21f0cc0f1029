"""One clip's musical analysis: tempo, beats, first downbeat and key, read once.

``analyse(audio, sample_rate)`` is the entry point the renderer calls once per source
(variations reuse the result); everything else in :mod:`plugin_host.musical` works from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plugin_host.musical.config import KeyConfig, OnsetConfig, TempoConfig
from plugin_host.musical.downbeat import DownbeatEstimate, estimate_downbeat
from plugin_host.musical.features import chroma_frames, onset_frames
from plugin_host.musical.key import KeyEstimate, estimate_key
from plugin_host.musical.tempo import TempoEstimate, estimate_tempo


@dataclass(frozen=True)
class AnalysisConfig:
    """The three component configs (defaults in :mod:`plugin_host.musical.config`)."""

    onset: OnsetConfig = field(default_factory=OnsetConfig)
    tempo: TempoConfig = field(default_factory=TempoConfig)
    key: KeyConfig = field(default_factory=KeyConfig)


@dataclass(frozen=True)
class ClipAnalysis:
    """Tempo (with beats), first downbeat (``None`` without beats) and key of one clip of
    ``duration_s`` seconds."""

    tempo: TempoEstimate
    downbeat: DownbeatEstimate | None
    key: KeyEstimate
    duration_s: float

    @property
    def first_downbeat_s(self) -> float | None:
        """First downbeat (s), else first beat, else ``None``."""
        if self.downbeat is not None:
            return self.downbeat.first_s
        return self.tempo.beats[0] if self.tempo.beats else None

    def to_report(self) -> dict[str, Any]:
        """JSON-ready summary (rounded: 0.01 BPM, 1 ms, 3 decimals)."""
        t, k, d = self.tempo, self.key, self.downbeat
        return {
            "bpm": round(t.bpm, 2),
            "tempo_confidence": round(t.confidence, 3),
            "beats": len(t.beats),
            "first_beat_s": round(t.beats[0], 3) if t.beats else None,
            "first_downbeat_s": round(d.first_s, 3) if d else None,
            "downbeat_confidence": round(d.confidence, 3) if d else None,
            "key": k.name,
            "key_confidence": round(k.confidence, 4),
            "key_margin": round(k.margin, 3),
            "key_tonality": round(k.tonality, 3),
        }


def analyse(audio: np.ndarray, sample_rate: int, cfg: AnalysisConfig | None = None) -> ClipAnalysis:
    """Analyse ``audio`` float [C, T] (or [T]) at ``sample_rate`` Hz. The harmonic-change
    cue of the downbeat counts in proportion to the key confidence (full from
    ``KeyConfig.min_confidence`` up)."""
    cfg = cfg or AnalysisConfig()
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    onsets = onset_frames(audio, sample_rate, cfg.onset)
    chroma = chroma_frames(audio, sample_rate, cfg.key)
    tempo = estimate_tempo(onsets, cfg.tempo)
    key = estimate_key(chroma)
    tonal = float(np.clip(key.confidence / cfg.key.min_confidence, 0.0, 1.0))
    downbeat = estimate_downbeat(tempo.beats, onsets, chroma, cfg.tempo.beats_per_bar, tonal)
    return ClipAnalysis(
        tempo=tempo,
        downbeat=downbeat,
        key=key,
        duration_s=np.asarray(audio).shape[-1] / sample_rate,
    )
