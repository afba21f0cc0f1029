"""The fixed DSP part of the agent in numpy: the host's twin of ``model/dsp.py``, and the
one implementation of the host's STFT, band features, masking and overlap-add.

Same conventions as ``model/dsp.py``: periodic Hann, centred frames with ``n_fft // 2``
zeros each side, ``N = 1 + T // hop`` frames, disjoint bands given by bin ``edges``, log
band power features, band masks repeated over bins and shared by channels. The band
layout arrives in the ONNX metadata, so this module never recomputes it.

Two layouts: whole-clip methods (``stft``, ``band_power``, ``expand``, ``mix``, ``istft``)
use the torch twin's band-major ``[..., F, N]``; the frame-major chunk methods
(``stft_frames``, ``power``, ``channel_power``, ``band_mean``, ``band_power_frames``,
``pair_mask``, ``mix_pairs``, ``synthesize``, ``overlap_add``, ``window_envelope``) work on
``[..., n, F]`` ranges of frames, as the FFT produces them, for the streaming renderer
(``plugin_host/pipeline.py``). The whole-clip
methods are built from the chunk methods.

FFTs are scipy's pocketfft (:mod:`plugin_host.fft`; measured here: 0.08 s vs numpy 2.4's
2.5 s for the frames of 8 × 60 s at n_fft 2048). The streaming renderer's FFTs write into
its preallocated buffers (``out=``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from plugin_host import fft

FEATURE_EPS = 1e-8  # log features: log(band power + FEATURE_EPS), as model/dsp.py
ENVELOPE_FLOOR = 1e-11  # samples whose Σ window² is below this are not divided (left as is)


class HostDSP:
    """STFT / features / mix / iSTFT for one model's DSP parameters (all float32).

    workers: threads of each FFT (-1: ``os.cpu_count()``; ``load_model`` passes the cores
    this process may use)."""

    def __init__(self, n_fft: int, hop: int, edges: Sequence[int], workers: int = -1) -> None:
        if n_fft % hop:
            raise ValueError(f"n_fft ({n_fft}) must be a multiple of hop ({hop})")
        if edges[0] != 0 or edges[-1] != n_fft // 2 + 1 or np.any(np.diff(edges) < 1):
            raise ValueError("band edges must rise strictly from 0 to n_fft // 2 + 1")
        self.n_fft, self.hop, self.workers = n_fft, hop, workers
        self.pad = n_fft // 2
        self.ratio = n_fft // hop  # frames covering one sample
        self.edges = np.asarray(edges, dtype=np.int64)
        self.n_bands = len(edges) - 1
        n = np.arange(n_fft)
        self.window = (0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)).astype(np.float32)
        self.bins_to_band = np.repeat(np.arange(self.n_bands), np.diff(self.edges))
        self.band_sizes = np.diff(self.edges).astype(np.float32)
        self._inv_sizes = (1.0 / self.band_sizes).astype(np.float32)  # [K]
        self._pair_sizes = 2 * np.diff(self.edges)  # float32 values per band: (re, im) pairs
        w2 = self.window.astype(np.float64) ** 2
        self._w2 = w2
        self._env_period = w2.reshape(self.ratio, hop).sum(axis=0)  # Σ w² inside the clip

    def n_frames(self, n_samples: int) -> int:
        return 1 + n_samples // self.hop

    # ------------------------------------------------------------ frame-major chunks
    def frames(self, x: np.ndarray) -> np.ndarray:
        """The frames of ``x`` float32 [..., (n - 1)·hop + n_fft] as a strided view
        [..., n, n_fft] (frame i starts at sample i·hop; no copy). Made once per buffer
        by callers that reuse one: the view costs ~40 µs of Python per call."""
        return np.lib.stride_tricks.sliding_window_view(x, self.n_fft, axis=-1)[..., :: self.hop, :]

    def stft_frames(
        self,
        x: np.ndarray,
        out: np.ndarray | None = None,
        windowed: np.ndarray | None = None,
        workers: int | None = None,
    ) -> np.ndarray:
        """Spectra of consecutive frames: x float32 [..., (n - 1)·hop + n_fft] (the samples
        of n frames, frame i starting at i·hop) -> complex64 [..., n, F]
        (:meth:`spectra` of :meth:`frames`)."""
        return self.spectra(self.frames(np.asarray(x, np.float32)), out, windowed, workers)

    def spectra(
        self,
        frames: np.ndarray,
        out: np.ndarray | None = None,
        windowed: np.ndarray | None = None,
        workers: int | None = None,
    ) -> np.ndarray:
        """Spectra of frames float32 [..., n, n_fft] (:meth:`frames`) -> complex64
        [..., n, F].

        One pass writes the windowed frames (the frames times the window) into ``windowed``
        (float32 [..., n, n_fft], scratch; allocated when None), which the FFT transforms
        into ``out`` (complex64 [..., n, F], any strides; allocated when None) on
        ``workers`` threads (None: ``self.workers``)."""
        windowed = np.multiply(frames, self.window, out=windowed)
        return fft.rfft(windowed, self.workers if workers is None else workers, out)

    @staticmethod
    def power(spec: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """|X|²: complex64 [...] -> float32 [...] (|X| is SIMD, re² + im² of the float32
        view measured 1.5x slower; the square is taken in place, into ``out`` when given)."""
        p = np.abs(spec, out=out)
        return np.square(p, out=p)

    def channel_power(
        self, spec: np.ndarray, out: np.ndarray | None = None, scratch: np.ndarray | None = None
    ) -> np.ndarray:
        """Σ over channels of |X|²: complex64 [..., C, n, F] -> float32 [..., n, F], into
        ``out`` when given; ``scratch`` (float32 [..., C, n, F]) holds the channels' |X|²
        (allocated when None)."""
        p = self.power(spec, out=scratch)
        if out is None:
            out = p[..., 0, :, :]  # the channels added into the first one's |X|²
        else:
            out[...] = p[..., 0, :, :]
        for ch in range(1, p.shape[-3]):
            out += p[..., ch, :, :]
        return out

    def band_mean(
        self, power_sum: np.ndarray, channels: int, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Σ_channels |X|² [..., n, F] of ``channels`` channels (:meth:`channel_power`) ->
        mean |X|² per band over its bins and the channels: float32 [..., n, K] (into
        ``out`` when given).

        One segment reduction over bins (``np.add.reduceat`` at the band edges); the
        mean's divisor (channels · bins per band) is applied to the small result."""
        band = np.add.reduceat(power_sum, self.edges[:-1], axis=-1, out=out)
        band *= self._inv_sizes * np.float32(1.0 / channels)
        return band

    def band_power_frames(self, power: np.ndarray) -> np.ndarray:
        """power float32 [..., C, n, F] (|X|² per channel) -> mean |X|² per band over its
        bins and the channels: float32 [..., n, K] (:meth:`band_mean` of their sum)."""
        return self.band_mean(power.sum(axis=-3), power.shape[-3])

    def pair_mask(self, band_mask: np.ndarray) -> np.ndarray:
        """Band mask [..., n, K] -> float32 [..., n, 2F]: each band's value over its bins'
        (re, im) pairs (np.repeat: 0.15 ms for [512, 2F]; np.take into a buffer: 1.25)."""
        return np.repeat(np.asarray(band_mask, np.float32), self._pair_sizes, axis=-1)

    @staticmethod
    def mix_pairs(
        spec_in: np.ndarray, spec_tg: np.ndarray, pairs_in: np.ndarray, pairs_tg: np.ndarray
    ) -> np.ndarray:
        """Y = M_in · X_in + M_tg · X_tg in place of ``spec_in`` (returned; ``spec_tg`` is
        overwritten too): spectra complex64 [..., C, n, F], masks from :meth:`pair_mask`
        [..., n, 2F]. The spectra seen as float32 (re, im) pairs times the repeated mask: a
        float32 product, the same values as complex × real."""
        for spec, mask in ((spec_in, pairs_in), (spec_tg, pairs_tg)):
            pairs = spec.view(np.float32)
            np.multiply(pairs, mask[..., None, :, :], out=pairs)
        spec_in += spec_tg
        return spec_in

    def synthesize(
        self,
        spec: np.ndarray,
        out: np.ndarray | None = None,
        workers: int | None = None,
    ) -> np.ndarray:
        """Inverse FFT of frames times the window: complex64 [..., n, F] -> float32
        [..., n, n_fft], ready for :meth:`overlap_add` (into ``out`` when given), on
        ``workers`` threads (None: ``self.workers``)."""
        seg = fft.irfft(spec, self.n_fft, self.workers if workers is None else workers, out)
        seg *= self.window
        return seg

    def overlap_add(
        self, seg: np.ndarray, tail: np.ndarray | None = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Windowed frames [..., n, n_fft] (:meth:`synthesize`) added at ``i · hop`` into
        float32 [..., (n - 1 + r) · hop] (r = n_fft / hop), after ``tail``
        [..., (r - 1) · hop]: the last samples of the previous chunk's sum, which the first
        frames here still reach. The first ``n · hop`` samples are final; the rest is the
        next chunk's tail. ``out``: float32 [..., m, hop] storage with m >= n - 1 + r
        (allocated when None; ``tail`` must not overlap it)."""
        lead, n, r, hop = seg.shape[:-2], seg.shape[-2], self.ratio, self.hop
        parts = seg.reshape(*lead, n, r, hop)
        if out is None:
            out = np.empty((*lead, n - 1 + r, hop), np.float32)
        slots = out[..., : n - 1 + r, :]  # hop-sized slots
        slots[..., :n, :] = parts[..., 0, :]  # segment 0 of frame i: slot i (no zero pass)
        slots[..., n:, :] = 0.0
        if tail is not None:
            slots[..., : r - 1, :] += tail.reshape(*lead, r - 1, hop)
        for j in range(1, r):  # segment j of frame i lands in slot i + j
            slots[..., j : j + n, :] += parts[..., j, :]
        return slots.reshape(*lead, -1)  # a view when out is C-contiguous

    def window_envelope(self, n_frames: int, lo: int, hi: int) -> np.ndarray:
        """The iSTFT's normaliser for samples ``[lo, hi)`` of a clip of ``n_frames`` frames
        (sample s is covered by frames i with i·hop <= s + pad < i·hop + n_fft): Σ w² over
        those frames, float32 [hi - lo], with 1 where that sum is below ``ENVELOPE_FLOOR``
        (beyond the last frame: short clips are padded with zeros, as ``torch.istft``)."""
        hop, pad, r = self.hop, self.pad, self.ratio
        # inside the clip every sample is covered by r frames: a pattern of period hop
        start = (lo + pad) % hop
        reps = -(-(hi - lo + start) // hop)
        env = np.tile(self._env_period, max(reps, 0))[start : start + hi - lo]
        # the edges (first (r - 1)·hop - pad samples, and from frame n_frames on) have fewer
        for e0, e1 in ((lo, min(hi, (r - 1) * hop - pad)), (max(lo, n_frames * hop - pad), hi)):
            if e1 > e0:
                q, o = np.divmod(np.arange(e0, e1) + pad, hop)
                part = np.zeros(e1 - e0)
                for j in range(r):
                    ok = (q - j >= 0) & (q - j < n_frames)
                    part += np.where(ok, self._w2[j * hop + o], 0.0)
                env[e0 - lo : e1 - lo] = part
        return np.where(env > ENVELOPE_FLOOR, env, 1.0).astype(np.float32)

    # ------------------------------------------------------------------ whole clips
    def stft(self, x: np.ndarray) -> np.ndarray:
        """x: float [..., T] -> complex64 [..., F, N] (centred frames, zero padding)."""
        t = x.shape[-1]
        n = self.n_frames(t)
        xp = np.zeros((*x.shape[:-1], (n - 1) * self.hop + self.n_fft), dtype=np.float32)
        xp[..., self.pad : self.pad + t] = x
        return np.swapaxes(self.stft_frames(xp), -1, -2)

    def istft(self, spec: np.ndarray, length: int) -> np.ndarray:
        """spec: complex [..., F, N] -> float32 [..., length] (windowed overlap-add)."""
        n = spec.shape[-1]
        acc = self.overlap_add(self.synthesize(np.swapaxes(spec, -1, -2)))
        out = acc[..., self.pad : self.pad + length]
        if out.shape[-1] < length:  # very short clips: torch.istft pads with zeros too
            grow = length - out.shape[-1]
            out = np.concatenate([out, np.zeros((*out.shape[:-1], grow), np.float32)], axis=-1)
        return out / self.window_envelope(n, 0, length)

    def band_power(self, spec: np.ndarray) -> np.ndarray:
        """complex [B, C, F, N] -> mean |X|² per band over bins and channels: float32 [B, K, N]."""
        return np.swapaxes(self.band_power_frames(self.power(np.swapaxes(spec, -1, -2))), -1, -2)

    @staticmethod
    def log_features(band_power: np.ndarray) -> np.ndarray:
        """Band power (any layout) -> the core's input features (natural log), float32."""
        return np.log(band_power + np.float32(FEATURE_EPS)).astype(np.float32, copy=False)

    def expand(self, band_mask: np.ndarray) -> np.ndarray:
        """Band mask [B, K, N] -> bin mask [B, F, N]."""
        return band_mask[:, self.bins_to_band, :]

    def mix(
        self,
        spec_in: np.ndarray,
        spec_tg: np.ndarray,
        input_mask: np.ndarray,
        target_mask: np.ndarray,
    ) -> np.ndarray:
        """Y = M_in · X_in + M_tg · X_tg; spectra [B, C, F, N], masks [B, K, N]."""
        return (
            self.expand(input_mask)[:, None] * spec_in + self.expand(target_mask)[:, None] * spec_tg
        )
