"""The agent in the host: numpy DSP (plugin_host/dsp.py) around the ONNX core.

``process`` renders one whole clip pair at the model's sample rate. It is the numpy twin of
``model.agent.CreativeAgent.forward`` and the code the export parity check runs.

``StreamingAgent`` renders the same thing in chunks of STFT frames with flat memory, for long
files. It is exact, not approximate: a frame's spectrum depends only on its own ``n_fft``
samples, the core sees ``context`` frames each side (its receptive field), and the inverse
STFT is a running overlap-add, so every chunk is computed with enough context that its
frames equal the whole render's, and the Hann windows of the overlap-add crossfade one chunk
into the next. The result matches ``process`` to float32 rounding (tests/test_host_render.py
states the tolerance). Every DSP step is one of ``HostDSP``'s frame-major chunk methods
(``stft_frames``, ``channel_power``, ``band_mean``, ``mix_pairs``, ``synthesize``,
``overlap_add``, ``window_envelope``); arrays inside the stream are frame-major ``[C, N, F]``
(what the FFT produces) to avoid transposing copies. The frames a chunk shares with the
next (its right context and the next one's left context) are kept, not recomputed
(:class:`plugin_host.frame_store.FrameStore`), and every per-chunk array lives in buffers
allocated once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from plugin_host.block_queue import BlockQueue, Emitted
from plugin_host.frame_store import FFT_BATCH, FrameStore, lanes_for
from plugin_host.model_metadata import ModelMetadata
from plugin_host.runtime import LoadedModel
from plugin_host.share_calibration import ShareCalibrationConfig, ShareCalibrator

# Frames per chunk of the streamed render (512 frames = 5.9 s at hop 512 / 44.1 kHz), at
# least 4x the core's context so recomputed context frames cost <= 50 %. Measured on 2 cores
# (60 s stereo, small model): 128-1024 frames all run in 0.35-0.65 s; memory grows with it.
DEFAULT_CHUNK_FRAMES = 512


def default_chunk_frames(context: int) -> int:
    return max(DEFAULT_CHUNK_FRAMES, 4 * context)


# With ``short_first``, the first chunk is this fraction of the others. The agent's first
# step waits for the samples of a whole chunk and its context; when the reader also runs
# the input/target chains, that wait holds a core idle (measured on 2 cores, end to end
# with the bench's chains, paired A/B of 60 renders: 8.6 ± 3.4 ms less per 60 s render;
# without chains, 5.8 ± 2.9 ms more).
SHORT_FIRST_DIVISOR = 4


@dataclass
class PipelineResult:
    """audio: float32 [C, T]; input_mask, target_mask: [K, N];
    spec_in, spec_tg, spec_out: complex64 [C, F, N] (reused by the report's metrics)."""

    audio: np.ndarray
    input_mask: np.ndarray
    target_mask: np.ndarray
    spec_in: np.ndarray
    spec_tg: np.ndarray
    spec_out: np.ndarray


def frame_balance(balance: float | np.ndarray, n_frames: int) -> np.ndarray:
    """The knob per STFT frame, float32 [n_frames]: a float repeated, or a float32 [N]
    array checked (shape, finite, in [0, 1]) and returned as is."""
    values = np.asarray(balance, np.float32)
    if values.ndim == 0:
        values = np.full(n_frames, values, np.float32)
    if values.shape != (n_frames,):
        raise ValueError(f"balance must be a float or [N] with N = {n_frames}, got {values.shape}")
    if not (np.isfinite(values).all() and values.min() >= 0.0 and values.max() <= 1.0):
        raise ValueError("balance values must be finite and in [0, 1]")
    return values


def process(
    model: LoadedModel,
    input: np.ndarray,
    target: np.ndarray,
    balance: float | np.ndarray = 0.5,
    calibration: ShareCalibrationConfig | None = None,
) -> PipelineResult:
    """input, target: float32 [C, T] (same shape, C = 1 or 2) at ``model.metadata.sample_rate``;
    balance: a float, or float32 [N] per STFT frame (N = 1 + T // hop; frame i is centred
    on sample i · hop); calibration: correct the masks so the masked share follows the knob
    (:mod:`plugin_host.share_calibration`; None: the core's masks as they are)."""
    if input.ndim != 2 or input.shape != target.shape or input.shape[0] not in (1, 2):
        raise ValueError(
            f"input and target must be [C, T] with C in (1, 2) and one shape, got {input.shape} and {target.shape}"
        )
    dsp = model.dsp
    t = input.shape[-1]
    bal = frame_balance(balance, dsp.n_frames(t))
    model.check_balance(bal)
    spec_in = dsp.stft(np.asarray(input, np.float32)[None])
    spec_tg = dsp.stft(np.asarray(target, np.float32)[None])
    band_in, band_tg = dsp.band_power(spec_in), dsp.band_power(spec_tg)  # [1, K, N]
    m_in, m_tg = model.core(dsp.log_features(band_in), dsp.log_features(band_tg), bal[None])
    if calibration is not None:
        cal = calibrator(model, calibration)
        c_in, c_tg = cal.apply(m_in[0].T, m_tg[0].T, band_in[0].T, band_tg[0].T, bal)
        m_in, m_tg = np.ascontiguousarray(c_in.T)[None], np.ascontiguousarray(c_tg.T)[None]
    spec_out = dsp.mix(spec_in, spec_tg, m_in, m_tg)
    audio = dsp.istft(spec_out, t)[0]
    return PipelineResult(audio, m_in[0], m_tg[0], spec_in[0], spec_tg[0], spec_out[0])


def calibrator(model: LoadedModel, cfg: ShareCalibrationConfig) -> ShareCalibrator:
    """A share calibrator on this model's band grid and frame rate."""
    meta = model.metadata
    return ShareCalibrator(np.diff(model.dsp.edges), meta.sample_rate / meta.hop, cfg)


def context_frames(meta: ModelMetadata) -> int:
    """Frames of context each side that influence one output frame of the core: the file's
    ``receptive_frames`` entry when present, else computed from its conv config (dilated
    convs of ``kernel_size`` with dilation 2**i, plus one frame of margin)."""
    declared = meta.extra.get("receptive_frames")
    if declared is not None:
        return int(declared)
    cfg = meta.config
    k, layers = int(cfg.get("kernel_size", 3)), int(cfg.get("n_layers", 4))
    return sum((k // 2) * 2**i for i in range(layers)) + 1


@dataclass
class FrameBlock:
    """Frames ``[start, stop)`` (global frame indices) of a streamed render, for the report.

    power_in, power_tg, power_out: float32 [n, F], |X|² per frame and bin summed over the
    channels;
    band_in, band_tg, band_out: float32 [n, K], mean |X|² per band (over its bins and the
    channels: the core's features before the log); input_mask, target_mask: float32 [n, K].
    The arrays may be views of the agent's buffers: valid during the ``on_frames`` call
    only (reduce or copy them there).
    """

    start: int
    stop: int
    power_in: np.ndarray
    power_tg: np.ndarray
    power_out: np.ndarray
    band_in: np.ndarray
    band_tg: np.ndarray
    band_out: np.ndarray
    input_mask: np.ndarray
    target_mask: np.ndarray


@dataclass(frozen=True)
class _Span:
    """The overlap-add of one chunk: its slots hold ``length`` samples from global sample
    ``g0``; the first ``keep`` are final; ``[lo, hi)`` are the ones to emit (global)."""

    g0: int
    lo: int
    hi: int
    keep: int
    length: int


class StreamingAgent:
    """The agent over a stream of ``total`` samples (model rate) fed in pieces of any size.

    ``feed(input, target)`` takes float32 [C, n] pieces (the two streams may run ahead of
    each other); ``pull()`` returns every finished span of output as :class:`Emitted`, in
    order, and calls ``on_frames(FrameBlock)`` for each chunk of frames (the report's
    spectral metrics). Holds at most about ``chunk_frames + 2 * context`` frames.
    balance: a float, or float32 [N] per frame (N = ``n_frames``; each chunk's core call
    gets the values of its own context frames, so a moving knob stays exact);
    calibration: as :func:`process` (exact in chunks too: its smoothing runs in frame order);
    short_first: the first chunk is ``chunk_frames // SHORT_FIRST_DIVISOR`` frames (at least
    1), so the agent starts sooner (any chunking gives the same output).
    """

    def __init__(
        self,
        model: LoadedModel,
        channels: int,
        total: int,
        balance: float | np.ndarray = 0.5,
        chunk_frames: int | None = None,
        on_frames: Callable[[FrameBlock], None] | None = None,
        calibration: ShareCalibrationConfig | None = None,
        short_first: bool = False,
    ) -> None:
        if channels not in (1, 2):
            raise ValueError(f"channels must be 1 or 2, got {channels}")
        if total < 1:
            raise ValueError(f"total must be >= 1 sample, got {total}")
        if chunk_frames is not None and chunk_frames < 1:
            raise ValueError(f"chunk_frames must be >= 1, got {chunk_frames}")
        self.model, self.channels, self.total = model, channels, total
        dsp = model.dsp
        self.n_fft, self.hop, self.pad = dsp.n_fft, dsp.hop, dsp.pad
        self.context = context_frames(model.metadata)
        self.chunk_frames = chunk_frames or default_chunk_frames(self.context)
        self._first = max(1, self.chunk_frames // SHORT_FIRST_DIVISOR) if short_first else None
        self.on_frames = on_frames
        self.n_frames = dsp.n_frames(total)
        self.balance = frame_balance(balance, self.n_frames)  # [N]
        model.check_balance(self.balance)
        # frames come in order: the calibrator's smoothing carries from chunk to chunk
        self._calibrator = calibrator(model, calibration) if calibration is not None else None
        # the fed blocks themselves, dropped once no later step reads them
        self._in = BlockQueue(channels, total)
        self._tg = BlockQueue(channels, total)
        self._next = 0  # first frame not yet rendered
        self._tail = np.zeros((channels, self.n_fft - self.hop), np.float32)
        self._emitted = 0  # output samples finished so far
        cap = min(self.n_frames, self.chunk_frames + 2 * self.context)  # frames per step
        own = min(self.n_frames, self.chunk_frames)  # a chunk's own frames
        self._lanes = lanes_for(dsp)  # threads for independent batches and channels
        self._frames = FrameStore(dsp, channels, cap, self._lanes)
        self._seg = np.empty((channels, min(own, FFT_BATCH), self.n_fft), np.float32)
        self._slots = np.empty((channels, own - 1 + dsp.ratio, self.hop), np.float32)
        n_freq = self.n_fft // 2 + 1  # the output's |Y|² per channel, for on_frames
        self._p_out = np.empty((channels, own, n_freq), np.float32) if on_frames else None
        # inside the clip the iSTFT's normaliser repeats every hop samples: one copy of it
        # (phase 0 at sample _env_lo), sliced per chunk instead of rebuilt
        self._env_lo = (dsp.ratio - 1) * self.hop - self.pad  # first sample all frames reach
        period = dsp.window_envelope(dsp.ratio + 1, self._env_lo, self._env_lo + self.hop)
        self._env_tile = np.tile(period, own + 1)  # the span of a chunk, plus one hop

    @property
    def done(self) -> bool:
        return self._emitted >= self.total

    def feed(self, input: np.ndarray | None = None, target: np.ndarray | None = None) -> None:
        """The next samples of each stream, float [C, n] (either may be None or run ahead
        of the other). Float32 arrays are held as they are, not copied: do not modify them
        afterwards."""
        for buf, x in ((self._in, input), (self._tg, target)):
            if x is not None and x.shape[-1]:
                assert x.ndim == 2 and x.shape[0] == self.channels, (
                    f"expected [{self.channels}, n], got {x.shape}"
                )
                buf.append(np.asarray(x, np.float32))

    def pull(self) -> list[Emitted]:
        out: list[Emitted] = []
        while self._next < self.n_frames:
            a = self._next
            b = self._chunk_stop(a)
            c1 = min(self.n_frames, b + self.context)
            need = min(self.total, (c1 - 1) * self.hop + self.pad)
            if min(self._in.end, self._tg.end) < need:
                break
            out.append(self._step(a, b))
        return out

    def _chunk_stop(self, a: int) -> int:
        """Where the chunk from frame ``a`` ends."""
        size = self._first if a == 0 and self._first is not None else self.chunk_frames
        return min(self.n_frames, a + size)

    def _read(self, out: np.ndarray, s0: int) -> None:
        """Both sources' samples ``[s0, s0 + L)`` into ``out`` [2, C, L] (zeros outside)."""
        self._in.read_into(out[0], s0)
        self._tg.read_into(out[1], s0)

    def _step(self, a: int, b: int) -> Emitted:
        dsp, c, fs = self.model.dsp, self.channels, self._frames
        c0 = max(0, a - self.context)
        c1 = min(self.n_frames, b + self.context)
        fs.advance(c0, c1, self._read)  # frames c0..c1-1 of both sources
        feat = dsp.log_features(fs.band[:, : c1 - c0]).transpose(0, 2, 1)  # [2, K, nf]
        m_in, m_tg = self.model.core(feat[0:1], feat[1:2], self.balance[None, c0:c1])
        i0, i1 = a - c0, b - c0  # the chunk's own frames inside the context
        mask_in = np.ascontiguousarray(m_in[0, :, i0:i1].T)  # [n, K]
        mask_tg = np.ascontiguousarray(m_tg[0, :, i0:i1].T)
        if self._calibrator is not None:
            mask_in, mask_tg = self._calibrator.apply(
                mask_in, mask_tg, fs.band[0, i0:i1], fs.band[1, i0:i1], self.balance[a:b]
            )
        # the own frames' spectra are not needed after this (later chunks keep only their
        # band powers): masked in place, the input's slice then holds the output [C, n, F];
        # each channel mixed and inverted on its own lane
        n = b - a
        p_out = None if self._p_out is None else self._p_out[:, :n]  # |Y|² per channel
        workers = self._lanes.fft_workers(dsp, c)
        pairs_in, pairs_tg = dsp.pair_mask(mask_in), dsp.pair_mask(mask_tg)  # [n, 2F]
        span = self._span(a, b)
        out = np.empty((c, span.hi - span.lo), np.float32)  # the finished samples
        tail = np.empty((c, span.length - span.keep), np.float32)  # the next chunk's tail
        env = self._envelope(span.lo, span.hi)

        def channel(ch: int) -> None:
            spec_out = dsp.mix_pairs(fs.spec[0, ch : ch + 1, i0:i1],
                                     fs.spec[1, ch : ch + 1, i0:i1], pairs_in, pairs_tg)  # fmt: skip
            if p_out is not None:
                dsp.power(spec_out[0], out=p_out[ch])
            self._synthesize(ch, spec_out[0], workers)
            acc = self._slots[ch, : n - 1 + dsp.ratio].reshape(-1)  # from sample span.g0
            tail[ch] = acc[span.keep :]
            np.divide(acc[span.lo - span.g0 : span.hi - span.g0], env, out=out[ch])

        self._lanes.run(channel, c)
        self._tail = tail
        if self.on_frames is not None and p_out is not None:
            power_out = p_out[0]  # Σ over channels, as the sources' powers
            for ch in range(1, c):
                power_out += p_out[ch]
            self.on_frames(
                FrameBlock(
                    a, b, fs.power[0, i0:i1], fs.power[1, i0:i1], power_out,
                    fs.band[0, i0:i1], fs.band[1, i0:i1], dsp.band_mean(power_out, c),
                    mask_in, mask_tg,
                )
            )  # fmt: skip
        return self._emit(b, span, out)

    def _synthesize(self, ch: int, spec: np.ndarray, workers: int) -> None:
        """Inverse STFT of channel ``ch``'s frames [a, b) (spec complex64 [n, F]) into its
        overlap-add slots, after the previous chunk's tail. In batches of frames (their
        inverse FFTs stay in cache), each added after the partial sums the previous batch
        left in the slots it shares with this one."""
        dsp, r, batch = self.model.dsp, self.model.dsp.ratio, self._seg.shape[1]
        slots, seg_buf = self._slots[ch], self._seg[ch]  # [m, hop], [batch, n_fft]
        tail = self._tail[ch]
        for i in range(0, spec.shape[0], batch):
            j = min(spec.shape[0], i + batch)
            seg = dsp.synthesize(spec[i:j], out=seg_buf[: j - i], workers=workers)
            if i:
                tail = slots[i : i + r - 1].copy()
            dsp.overlap_add(seg, tail, out=slots[i:])

    def _span(self, a: int, b: int) -> _Span:
        """Where the overlap-add of frames [a, b) lands and what of it is finished."""
        n, hop = b - a, self.hop
        length = (n - 1 + self.model.dsp.ratio) * hop  # the slots' samples
        keep = length if b == self.n_frames else n * hop  # no later frame touches these
        g0 = a * hop - self.pad  # global index of the slots' first sample
        lo = max(g0, self._emitted)
        hi = max(lo, min(g0 + keep, self.total))
        return _Span(g0, lo, hi, keep, length)

    def _emit(self, b: int, span: _Span, out: np.ndarray) -> Emitted:
        """The finished samples ``out`` [C, hi - lo] (normalised on the lanes) with the
        inputs over the same span; forgets the input samples no later chunk reads."""
        lo, hi = span.lo, span.hi
        x_in, x_tg = self._in.pieces(lo, hi), self._tg.pieces(lo, hi)
        self._emitted = hi
        self._next = b
        drop = max(0, (b - self.context) * self.hop - self.pad)
        self._in.drop_before(min(drop, hi))
        self._tg.drop_before(min(drop, hi))
        return Emitted(lo, out, x_in, x_tg)

    def _envelope(self, lo: int, hi: int) -> np.ndarray:
        """``HostDSP.window_envelope`` of samples [lo, hi): slices of the periodic copy
        where every frame reaches them, the clip's edges (the first (r - 1)·hop - pad
        samples, and from the last frame on) computed."""
        hop, dsp = self.hop, self.model.dsp
        a = min(hi, max(lo, self._env_lo))  # [a, b): inside the clip
        b = max(a, min(hi, self.n_frames * hop - self.pad))
        phase = (a - self._env_lo) % hop
        if phase + b - a > self._env_tile.shape[0]:  # longer than a chunk: computed
            return dsp.window_envelope(self.n_frames, lo, hi)
        inside = self._env_tile[phase : phase + b - a]
        if a == lo and b == hi:
            return inside
        edges = (dsp.window_envelope(self.n_frames, lo, a),
                 dsp.window_envelope(self.n_frames, b, hi))  # fmt: skip
        return np.concatenate([edges[0], inside, edges[1]])


def process_chunked(
    model: LoadedModel,
    input: np.ndarray,
    target: np.ndarray,
    balance: float | np.ndarray = 0.5,
    chunk_frames: int | None = None,
    feed_samples: int = 1 << 16,
    calibration: ShareCalibrationConfig | None = None,
    short_first: bool = False,
) -> np.ndarray:
    """``process(...).audio`` computed by :class:`StreamingAgent`, fed ``feed_samples`` at a
    time: float32 [C, T] in, float32 [C, T] out (for tests and in-memory callers)."""
    if input.ndim != 2 or input.shape != target.shape or input.shape[0] not in (1, 2):
        raise ValueError(f"input and target must be [C, T] of one shape, got {input.shape}")
    c, t = input.shape
    agent = StreamingAgent(model, c, t, balance, chunk_frames, calibration=calibration,
                           short_first=short_first)  # fmt: skip
    parts: list[np.ndarray] = []
    for s in range(0, t, feed_samples):
        agent.feed(input[:, s : s + feed_samples], target[:, s : s + feed_samples])
        parts += [e.output for e in agent.pull()]
    assert agent.done
    return np.concatenate(parts, axis=1)
