"""All the per-clip measures of an output against its INPUT and TARGET, as one accumulator
(fed chunk by chunk while a render streams: the host's report) and as one whole-clip call
(:func:`measure_clip`: benchmarks, baselines, notebooks), so both are one definition.

Undefined values are ``None`` with a one-line reason under ``undefined``, never NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from plugin_host.measures.chroma import ChromaCosine, ChromaFold
from plugin_host.measures.constants import CHROMA_FMAX_HZ, CHROMA_FMIN_HZ
from plugin_host.measures.correlation import pearson
from plugin_host.measures.masks import MaskStatistics, MaskStats
from plugin_host.measures.onset import BandOnsetEnvelope
from plugin_host.measures.verdict import meets_seed_criteria, verdict
from plugin_host.measures.waveform import INPUT, OUTPUT, TARGET, WaveformMoments

if TYPE_CHECKING:
    from plugin_host.dsp import HostDSP

# the measures every scored clip gets (what measure_clip returns)
MEASURES = (
    "output_input_corr",
    "output_target_corr",
    "verdict",
    "meets_seed_criteria",
    "share_input",
    "residual",
    "onset_corr_input",
    "onset_corr_target",
    "chroma_cos_input",
    "chroma_cos_target",
)
_SOURCES = (("input", INPUT), ("target", TARGET))


class ClipMeasures(TypedDict):
    """What :meth:`ClipAccumulator.compute` returns (the report's measure fields).

    ``output_*_corr``: the seed's Pearson correlation on waveforms flattened over channels;
    ``verdict``, ``meets_seed_criteria``: the seed's rules on them; ``coef_*``, ``share_*``,
    ``residual``: least squares out ≈ a·x_in + b·x_tg + e; ``onset_corr_*``: correlation
    of band onset envelopes (rhythm); ``chroma_cos_*``: mean chroma cosine (harmony);
    ``masks``: mask statistics (``None`` when no masks were fed); ``undefined``: a reason
    for every ``None`` above (``masks.<name>`` for one inside ``masks``).
    """

    output_input_corr: float | None
    output_target_corr: float | None
    verdict: str | None
    meets_seed_criteria: bool
    coef_input: float | None
    coef_target: float | None
    share_input: float | None
    share_target: float | None
    residual: float | None
    onset_corr_input: float | None
    onset_corr_target: float | None
    chroma_cos_input: float | None
    chroma_cos_target: float | None
    masks: MaskStatistics | None
    undefined: dict[str, str]


@dataclass(frozen=True)
class FrameTrace:
    """What a :class:`ClipAccumulator` kept of a chunk of n frames, for accumulators over
    parts of those frames (the report's timeline) to reuse: ``onset`` float64 [3, n], the
    onset envelope of (output, input, target); ``chroma`` float64 [2, 3, n], the chroma
    cosine's |a|, |b|, a·b per frame of (output vs input, output vs target); ``energy``
    float64 [2, n], the masked energy of (input, target) (None: no masks fed)."""

    onset: np.ndarray
    chroma: np.ndarray
    energy: np.ndarray | None = None

    def frames(self, a: int, b: int) -> FrameTrace:
        """Frames [a, b) of these (views)."""
        energy = None if self.energy is None else self.energy[:, a:b]
        return FrameTrace(self.onset[:, a:b], self.chroma[..., a:b], energy)


class ClipAccumulator:
    """Every measure of one clip, fed in order: ``update_samples`` with each span of
    samples, ``update_frames`` with each chunk of STFT frames, ``update_masks`` with the
    agent's masks over the same frames (optional); ``compute`` at the end."""

    def __init__(
        self,
        sample_rate: int,
        n_fft: int,
        band_sizes: np.ndarray,
        fold: ChromaFold | None = None,
    ) -> None:
        """``fold``: a chroma fold for this rate and ``n_fft`` to share (built when None)."""
        self.moments = WaveformMoments()
        self.onsets = [BandOnsetEnvelope() for _ in range(3)]  # output, input, target
        self.fold_chroma = fold or ChromaFold(n_fft // 2 + 1, sample_rate, n_fft)
        self.chroma = [ChromaCosine(), ChromaCosine()]  # output vs input, vs target
        self.masks = MaskStats(band_sizes)

    def update_samples(self, output: np.ndarray, input: np.ndarray, target: np.ndarray) -> None:
        """output, input, target: float [C, n] over the same samples."""
        self.moments.update(output, input, target)

    def fold(self, power_out: np.ndarray, power_in: np.ndarray, power_tg: np.ndarray) -> np.ndarray:
        """Chroma of the three signals' frames: power_* |X|² [..., n, F] (frame-major;
        leading dims, e.g. channels, are summed) -> float64 [3, n, 12] (output, input,
        target), for :meth:`update_folded`."""
        return np.stack([self.fold_chroma(p) for p in (power_out, power_in, power_tg)])

    def update_frames(
        self,
        power_out: np.ndarray,
        power_in: np.ndarray,
        power_tg: np.ndarray,
        band_out: np.ndarray,
        band_in: np.ndarray,
        band_tg: np.ndarray,
    ) -> FrameTrace:
        """power_*: |X|² [..., n, F] (frame-major; leading dims, e.g. channels, are summed:
        the streamed report passes the channels' sum [n, F]); band_*: mean |X|² per band
        over its bins and the channels [n, K] (the core's features before the log).
        Returns what was kept of these frames (:class:`FrameTrace`)."""
        n = band_out.shape[0]
        if not all(p.shape[-2] == n for p in (power_out, power_in, power_tg, band_in, band_tg)):
            raise ValueError("update_frames: powers and bands cover different frame counts")
        return self.update_folded(self.fold(power_out, power_in, power_tg),
                                  band_out, band_in, band_tg)  # fmt: skip

    def update_folded(
        self, chroma: np.ndarray, band_out: np.ndarray, band_in: np.ndarray, band_tg: np.ndarray
    ) -> FrameTrace:
        """:meth:`update_frames` after :meth:`fold`: chroma [3, n, 12], band_* [n, K]."""
        onset = np.stack([env.update(band) for env, band in
                          zip(self.onsets, (band_out, band_in, band_tg), strict=True)])  # fmt: skip
        cos = np.stack([self.chroma[0].update(chroma[0], chroma[1]),
                        self.chroma[1].update(chroma[0], chroma[2])])  # fmt: skip
        return FrameTrace(onset, cos)

    def update_masks(
        self,
        input_mask: np.ndarray,
        target_mask: np.ndarray,
        band_in: np.ndarray,
        band_tg: np.ndarray,
    ) -> np.ndarray:
        """The agent's band masks and the sources' band powers, all [n, K]. Returns the
        masked energies per frame, float64 [2, n] (input, target)."""
        return self.masks.update(input_mask, target_mask, band_in, band_tg)

    def compute(self) -> ClipMeasures:
        why: dict[str, str] = {}
        mo = self.moments
        silent = silent_signals(mo)
        r_in, r_tg, v = seed_verdict(mo, why)
        ls = mo.least_squares()
        for key, value in ls.items():
            if value is None:
                why[key] = _ls_reason(silent)
        env = [e.compute() for e in self.onsets]
        onset: dict[str, float | None] = {}
        for src, i in _SOURCES:
            onset[src] = pearson(env[OUTPUT], env[i]) if env[OUTPUT].size else None
            if onset[src] is None:
                why[f"onset_corr_{src}"] = onset_reason(env[OUTPUT], env[i], src)
        cos = {src: self.chroma[k].compute() for k, (src, _) in enumerate(_SOURCES)}
        for src, value in cos.items():
            if value is None:
                why[f"chroma_cos_{src}"] = chroma_reason(src)
        masks = self.masks.compute()
        if masks is not None and masks["masked_share_input"] is None:
            why["masks.masked_share_input"] = SHARE_UNDEFINED
        return ClipMeasures(
            output_input_corr=r_in,
            output_target_corr=r_tg,
            verdict=v,
            meets_seed_criteria=meets_seed_criteria(r_in, r_tg),
            **ls,
            onset_corr_input=onset["input"],
            onset_corr_target=onset["target"],
            chroma_cos_input=cos["input"],
            chroma_cos_target=cos["target"],
            masks=masks,
            undefined=why,
        )


VERDICT_UNDEFINED = "needs both correlations"
SHARE_UNDEFINED = "input and target are silent after masking"


def silent_signals(mo: WaveformMoments) -> dict[str, bool]:
    """Which of output, input and target are constant (silence included) in ``mo``."""
    return {name: mo.silent(i) for name, i in (("output", OUTPUT), *_SOURCES)}


def seed_verdict(
    mo: WaveformMoments, why: dict[str, str]
) -> tuple[float | None, float | None, str | None]:
    """The seed's output-input and output-target correlations and verdict from ``mo``; a
    reason for each undefined one is added to ``why``."""
    r_in, r_tg = mo.pearson(OUTPUT, INPUT), mo.pearson(OUTPUT, TARGET)
    silent = silent_signals(mo)
    for src, r in (("input", r_in), ("target", r_tg)):
        if r is None:
            why[f"output_{src}_corr"] = corr_reason(silent, src)
    v = verdict(r_in, r_tg)
    if v is None:
        why["verdict"] = VERDICT_UNDEFINED
    return r_in, r_tg, v


def corr_reason(silent: dict[str, bool], src: str) -> str:
    """Why the output's correlation with ``src`` is undefined (``silent``: per signal)."""
    gone = [s for s in ("output", src) if silent[s]]
    return f"{_names(gone, 'a signal')} silent (constant)"


def onset_reason(env_out: np.ndarray, env_src: np.ndarray, src: str) -> str:
    """Why the onset correlation of the output with ``src`` is undefined."""
    flat = [name for name, e in (("output", env_out), (src, env_src)) if _flat(e)]
    return f"onset envelope of {_names(flat, 'a signal')} flat"


def chroma_reason(src: str) -> str:
    """Why the chroma cosine of the output with ``src`` is undefined."""
    return (f"no frame where output and {src} both have energy in "
            f"{CHROMA_FMIN_HZ:g}-{CHROMA_FMAX_HZ:g} Hz")  # fmt: skip


def _flat(x: np.ndarray) -> bool:
    return x.size == 0 or bool(np.ptp(x) == 0)


def _names(names: list[str], none: str) -> str:
    """'output is', 'output and input are', or ``none`` + ' is'."""
    return f"{' and '.join(names)} are" if len(names) > 1 else f"{names[0] if names else none} is"


def _ls_reason(silent: dict[str, bool]) -> str:
    if silent["output"]:
        return "output is silent"
    gone = [s for s in ("input", "target") if silent[s]]
    if gone:
        return f"{_names(gone, '')} silent (no unique split)"
    return "input and target are proportional (no unique split)"


def measure_clip(
    output: np.ndarray, input: np.ndarray, target: np.ndarray, dsp: HostDSP, sample_rate: int
) -> dict[str, Any]:
    """The report's measures (:data:`MEASURES`) of ``output`` against ``input`` and
    ``target`` (float32 [C, T], one shape, C = 1 or 2) on ``dsp``'s STFT and bands (the
    model's): the same :class:`ClipAccumulator` as the streamed report, fed one chunk.
    ``None`` where a value is undefined."""
    if input.ndim != 2 or input.shape != target.shape or input.shape[0] not in (1, 2):
        raise ValueError(
            f"input and target must be [C, T] of one shape with C in (1, 2), got "
            f"{input.shape} and {target.shape}"
        )
    if output.shape != input.shape:
        raise ValueError(f"output {output.shape} must match input {input.shape}")
    acc = ClipAccumulator(sample_rate, dsp.n_fft, np.diff(dsp.edges))
    acc.update_samples(output, input, target)
    spec = np.swapaxes(dsp.stft(np.stack([output, input, target]).astype(np.float32)), -1, -2)
    power = dsp.channel_power(spec)  # [3, N, F], summed over channels (as the streamed report)
    band = dsp.band_mean(power, input.shape[0])  # [3, N, K]
    acc.update_frames(power[0], power[1], power[2], band[0], band[1], band[2])
    measures = acc.compute()
    return {key: measures[key] for key in MEASURES}  # type: ignore[literal-required]
