"""Parity check of an exported model: the host's full pipeline against the PyTorch model.

The host path is ``plugin_host.pipeline.process`` (numpy STFT/iSTFT + the ONNX Runtime
core); the reference is ``CreativeAgent.forward`` in float32. Both render the same built-in
musical clip pairs (``training.data.synth`` drums + harmony at several lengths, mono and
stereo, several constant balances and a moving one: a linear ramp per STFT frame, e.g.
0.1 → 0.9 over the clip) and the waveforms are compared by their maximum absolute
difference and their SNR:

    SNR = 10 · log10(Σ ref² / Σ (host − ref)²)  in dB.

A case passes when ``max_abs_err <= tolerance.max_abs`` and ``snr_db >= tolerance.min_snr_db``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from model import CreativeAgent
from plugin_host.pipeline import process
from plugin_host.runtime import LoadedModel
from training.data.synth import generate_pair, validation_config


@dataclass(frozen=True)
class Tolerance:
    """Pass bounds on the waveform error (full scale 1.0; the clips peak near 0.99)."""

    max_abs: float
    min_snr_db: float


# fp32: the torch and numpy DSP agree to ~3e-7 and the core to ~1e-7; 1e-4 / 60 dB leaves
# two to three orders of magnitude for FFT round-off on long clips.
FP32_TOLERANCE = Tolerance(max_abs=1e-4, min_snr_db=60.0)
# fp16: the core's weights and activations have an 11-bit mantissa (unit round-off 4.9e-4);
# measured on fresh tiny/small/base models (docs/export.md): max abs err <= 3.8e-4, SNR >=
# 68 dB. 2e-3 / 50 dB keeps a 5x / 18 dB margin for sharper trained masks while still
# catching a broken graph.
FP16_TOLERANCE = Tolerance(max_abs=2e-3, min_snr_db=50.0)


@dataclass(frozen=True)
class ClipSpec:
    """A clip length to test: ``seconds`` plus ``extra_samples`` (to make odd lengths)."""

    label: str
    seconds: float
    extra_samples: int = 0

    def n_samples(self, sample_rate: int) -> int:
        return int(round(self.seconds * sample_rate)) + self.extra_samples


# short: a handful of frames; odd: an odd length that is not a multiple of the hop;
# long: over 30 s (where accumulated FFT/overlap-add error would show).
FULL_CLIPS = (
    ClipSpec("short", 0.1),
    ClipSpec("odd", 3.0, extra_samples=77),
    ClipSpec("long", 31.0),
)


@dataclass(frozen=True)
class ParityConfig:
    """Which cases to run: every clip x every channel count x every balance (constant
    ``balances``, then each (start, end) of ``ramps``: a linear ramp over the clip's frames)."""

    clips: tuple[ClipSpec, ...] = FULL_CLIPS
    channels: tuple[int, ...] = (1, 2)
    balances: tuple[float, ...] = (0.0, 0.5, 1.0)
    ramps: tuple[tuple[float, float], ...] = ((0.1, 0.9),)
    seed: int = 0

    @property
    def n_cases(self) -> int:
        return len(self.clips) * len(self.channels) * (len(self.balances) + len(self.ramps))


@dataclass(frozen=True)
class CaseResult:
    """One case: the clip, channel count, balance, and the waveform errors.

    max_abs_err: max |host - torch| over all samples and channels (full scale 1.0);
    snr_db: reference energy over error energy in dB (``inf`` when identical).
    """

    clip: str
    channels: int
    n_samples: int
    balance: float
    max_abs_err: float
    snr_db: float
    passed: bool
    badness: float  # > 1 fails: max(err / max_abs, error amplitude over the allowed one)
    balance_end: float | None = None  # a ramp from ``balance`` to this (None: constant)

    @property
    def name(self) -> str:
        ch = {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels}ch")
        end = "" if self.balance_end is None else f"->{self.balance_end:g}"
        return f"{self.clip}/{ch}/balance={self.balance:g}{end}"


@dataclass
class ParityReport:
    """All cases of one check, with the bounds used and the provider that ran the core."""

    tolerance: Tolerance
    provider: str
    precision: str
    results: list[CaseResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def worst(self) -> CaseResult:
        """The case furthest from (or closest to) failing."""
        return max(self.results, key=lambda r: r.badness)

    @property
    def max_abs_err(self) -> float:
        return max(r.max_abs_err for r in self.results)

    @property
    def min_snr_db(self) -> float:
        return min(r.snr_db for r in self.results)

    def summary(self) -> str:
        """One line: verdict, the worst case and the extreme figures."""
        w = self.worst
        state = "passed" if self.passed else "FAILED"
        return (
            f"parity {state} ({self.precision}, {len(self.results)} cases, bounds max abs "
            f"<= {self.tolerance.max_abs:g}, SNR >= {self.tolerance.min_snr_db:g} dB): "
            f"max abs err {self.max_abs_err:.3g}, min SNR {_fmt_snr(self.min_snr_db)} dB; "
            f"worst case {w.name} (max abs err {w.max_abs_err:.3g}, SNR {_fmt_snr(w.snr_db)} dB)"
        )

    def table(self) -> str:
        """A human table of every case."""
        rows = [
            f"{'case':<32} {'samples':>9} {'max abs err':>12} {'SNR dB':>8}  ok",
        ]
        for r in self.results:
            rows.append(
                f"{r.name:<32} {r.n_samples:>9} {r.max_abs_err:>12.3e} "
                f"{_fmt_snr(r.snr_db):>8}  {'yes' if r.passed else 'NO'}"
            )
        return "\n".join(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (an infinite SNR becomes ``null``)."""
        return {
            "passed": self.passed,
            "provider": self.provider,
            "precision": self.precision,
            "tolerance": asdict(self.tolerance),
            "max_abs_err": self.max_abs_err,
            "min_snr_db": _json_float(self.min_snr_db),
            "worst_case": self.worst.name,
            "cases": [
                {**asdict(r), "name": r.name, "snr_db": _json_float(r.snr_db)} for r in self.results
            ],
        }


def _fmt_snr(snr: float) -> str:
    return "inf" if math.isinf(snr) else f"{snr:.1f}"


def _json_float(x: float) -> float | None:
    return x if math.isfinite(x) else None


ClipSource = Callable[[int, int, int, int], tuple[np.ndarray, np.ndarray]]


def synth_pair(
    n_samples: int, channels: int, sample_rate: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """A built-in musical pair of exactly ``n_samples``: drums (input) and harmony
    (target) from the held-out validation settings of ``training.data.synth``,
    float32 [C, T] each, peaks up to 0.99 full scale."""
    cfg = validation_config(
        seconds=n_samples / sample_rate, channels=channels, sample_rate=sample_rate
    )
    return generate_pair(cfg, seed)


def _snr_db(ref: np.ndarray, err: np.ndarray) -> float:
    noise = float(np.sum(err.astype(np.float64) ** 2))
    signal = float(np.sum(ref.astype(np.float64) ** 2))
    if noise == 0.0:
        return math.inf
    if signal == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)


def _judge(max_abs: float, snr: float, tol: Tolerance) -> tuple[bool, float]:
    amp_excess = 10 ** ((tol.min_snr_db - snr) / 20.0) if math.isfinite(snr) else 0.0
    if snr == -math.inf:
        amp_excess = math.inf
    badness = max(max_abs / tol.max_abs, amp_excess)
    ok = max_abs <= tol.max_abs and snr >= tol.min_snr_db
    return ok, badness


@torch.inference_mode()
def reference_audio(
    agent: CreativeAgent, input: np.ndarray, target: np.ndarray, balances: list[np.ndarray]
) -> np.ndarray:
    """The torch model's output for one pair at several balances, each float32 [N] per
    frame: float32 [len(balances), C, T]."""
    b = len(balances)
    x = torch.from_numpy(np.ascontiguousarray(input))[None].expand(b, -1, -1).contiguous()
    y = torch.from_numpy(np.ascontiguousarray(target))[None].expand(b, -1, -1).contiguous()
    out = agent(x, y, torch.from_numpy(np.stack(balances))).audio
    return out.numpy()


def _cases(config: ParityConfig, n_frames: int) -> list[tuple[float, float | None, np.ndarray]]:
    """(start, end or None, float32 [N] per frame) of every balance case of ``config``."""
    cases: list[tuple[float, float | None, np.ndarray]] = [
        (float(b), None, np.full(n_frames, b, np.float32)) for b in config.balances
    ]
    for a, b in config.ramps:
        cases.append((float(a), float(b), np.linspace(a, b, n_frames, dtype=np.float32)))
    return cases


def run_parity(
    agent: CreativeAgent,
    model: LoadedModel,
    config: ParityConfig | None = None,
    tolerance: Tolerance = FP32_TOLERANCE,
    clip_source: ClipSource = synth_pair,
    progress: bool = True,
) -> ParityReport:
    """Render every case of ``config`` through ``model`` (the host) and ``agent`` (torch).

    agent: the PyTorch model the file was exported from (float32, eval mode);
    model: the exported file opened with ``plugin_host.runtime.load_model``.
    clip_source(n_samples, channels, sample_rate, seed) -> (input, target) float32 [C, T].
    """
    config = config or ParityConfig()
    sr = model.metadata.sample_rate
    assert sr == agent.config.sample_rate, (
        f"model file says {sr} Hz, torch model {agent.config.sample_rate} Hz"
    )
    agent = agent.eval()
    report = ParityReport(tolerance, model.provider, model.metadata.precision)
    bar = tqdm(total=config.n_cases, desc="parity", unit="case", disable=not progress)
    try:
        for clip in config.clips:
            n = clip.n_samples(sr)
            for ch in config.channels:
                x, y = clip_source(n, ch, sr, config.seed)
                assert x.shape == y.shape == (ch, n), f"clip source gave {x.shape}, {y.shape}"
                cases = _cases(config, model.dsp.n_frames(n))
                refs = reference_audio(agent, x, y, [c[2] for c in cases])
                for (bal, end, values), ref in zip(cases, refs, strict=True):
                    host = process(model, x, y, values if end is not None else bal).audio
                    assert host.shape == ref.shape, f"host {host.shape} vs torch {ref.shape}"
                    err = host.astype(np.float64) - ref.astype(np.float64)
                    max_abs = float(np.max(np.abs(err))) if err.size else 0.0
                    snr = _snr_db(ref, err)
                    ok, badness = _judge(max_abs, snr, tolerance)
                    report.results.append(
                        CaseResult(clip.label, ch, n, bal, max_abs, snr, ok, badness, end)
                    )
                    bar.update(1)
    finally:
        bar.close()
    return report
