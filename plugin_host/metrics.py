"""Per-clip measures of how an output mixes INPUT (rhythm) and TARGET (harmony): numpy only.

One home for the definitions used by the host's report and by training's logs
(``training/`` imports this module; ``model/diagnostics.py`` holds the torch twins of the
correlation and verdict, tied to these by tests/test_diagnostics.py).

Every function returns ``None`` (never NaN) when its value is undefined, e.g. a
correlation with a silent clip.
"""

from __future__ import annotations

import numpy as np

# The seed's alert rules.
NOISE_BELOW = 0.2
COPY_RATIO = 2.0
SUCCESS_INPUT_CORR = 0.4

VERDICTS = ("noise", "copying_target", "copying_input", "mixing")


def pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson correlation of two signals flattened (the seed's ``corrcoef`` of
    ``reshape(-1)``); ``None`` if either is constant or not finite."""
    x = np.asarray(a, dtype=np.float64).reshape(-1)
    y = np.asarray(b, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"pearson: shapes differ ({x.size} vs {y.size} values)")
    if x.size < 2 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None
    x = x - x.mean()
    y = y - y.mean()
    den = np.sqrt((x * x).sum() * (y * y).sum())
    if den <= 1e-20 * max(x.size, 1):
        return None
    return float(np.clip((x * y).sum() / den, -1.0, 1.0))


def verdict(output_input_corr: float | None, output_target_corr: float | None) -> str | None:
    """The seed's rules, in order, on absolute correlations (a polarity-inverted source is
    still present in the output, so -0.9 counts like 0.9):

    1. ``noise`` if both |corr| < 0.2;
    2. ``copying_target`` if |target corr| > 2 × |input corr|;
    3. ``copying_input`` if |input corr| > 2 × |target corr|;
    4. otherwise ``mixing``.

    ``None`` when either correlation is undefined (``None`` or NaN, as the torch twin).
    """
    if output_input_corr is None or output_target_corr is None:
        return None
    ri, rt = abs(float(output_input_corr)), abs(float(output_target_corr))
    if not (np.isfinite(ri) and np.isfinite(rt)):
        return None
    if ri < NOISE_BELOW and rt < NOISE_BELOW:
        return "noise"
    if rt > COPY_RATIO * ri:
        return "copying_target"
    if ri > COPY_RATIO * rt:
        return "copying_input"
    return "mixing"


def meets_seed_criteria(output_input_corr: float | None, output_target_corr: float | None) -> bool:
    """The seed's success criteria: input corr > 0.4 and neither corr more than 2× the other
    (so the verdict is ``mixing``)."""
    if output_input_corr is None or output_target_corr is None:
        return False
    return (
        output_input_corr > SUCCESS_INPUT_CORR
        and verdict(output_input_corr, output_target_corr) == "mixing"
    )


def ls_decomposition(
    output: np.ndarray, input: np.ndarray, target: np.ndarray
) -> dict[str, float | None]:
    """Least squares ``out ≈ a·x_in + b·x_tg + e`` on flattened waveforms.

    Returns ``coef_input`` (a), ``coef_target`` (b), ``share_input`` =
    ‖a·x_in‖² / (‖a·x_in‖² + ‖b·x_tg‖²), ``share_target`` = 1 - share_input and
    ``residual`` = ‖e‖² / ‖out‖² (what is new: 0 for a linear mix, ~1 for a resynthesis, in
    which case the shares mean little). Undefined parts are ``None``.
    """
    o = np.asarray(output, np.float64).reshape(-1)
    x = np.asarray(input, np.float64).reshape(-1)
    y = np.asarray(target, np.float64).reshape(-1)
    out: dict[str, float | None] = dict(
        coef_input=None, coef_target=None, share_input=None, share_target=None, residual=None
    )
    eo = float(o @ o)
    if not (np.isfinite(eo) and eo > 0):
        return out
    a_mat = np.stack([x, y], axis=1)
    gram = a_mat.T @ a_mat
    if abs(np.linalg.det(gram)) <= 1e-12 * max(gram[0, 0] * gram[1, 1], 1e-30):
        return out
    coef = np.linalg.solve(gram, a_mat.T @ o)
    e_in, e_tg = float(coef[0] ** 2 * (x @ x)), float(coef[1] ** 2 * (y @ y))
    resid = o - a_mat @ coef
    out.update(coef_input=float(coef[0]), coef_target=float(coef[1]))
    out["residual"] = float(np.clip((resid @ resid) / eo, 0.0, 1.0))
    if e_in + e_tg > 0:
        out["share_input"] = e_in / (e_in + e_tg)
        out["share_target"] = e_tg / (e_in + e_tg)
    return out


def onset_envelope(mag: np.ndarray) -> np.ndarray:
    """Spectral flux: mag [..., F, N] (|STFT|, channels in leading dims) -> [N].

    Half-wave rectified frame-to-frame rise of log(1 + 100·|X|) summed over bins and leading
    dims; frame 0 is 0. At hop 512 / 44.1 kHz one frame is 11.6 ms.
    """
    logm = np.log1p(100.0 * np.asarray(mag, np.float32))
    flux = np.maximum(np.diff(logm, axis=-1), 0.0)
    env = flux.reshape(-1, flux.shape[-2], flux.shape[-1]).sum(axis=(0, 1))
    return np.concatenate([[0.0], env]).astype(np.float64)


def onset_corr(mag_a: np.ndarray, mag_b: np.ndarray) -> float | None:
    """Pearson correlation of the onset envelopes of two spectrograms (rhythm similarity)."""
    return pearson(onset_envelope(mag_a), onset_envelope(mag_b))


def chroma(
    mag: np.ndarray, sample_rate: int, n_fft: int, fmin: float = 55.0, fmax: float = 5000.0
) -> np.ndarray:
    """12-bin chroma: mag [..., F, N] -> [12, N], power of the bins in [fmin, fmax] Hz folded to
    pitch classes (C = 0), summed over leading dims."""
    m = np.asarray(mag, np.float32)
    p = (m * m).reshape(-1, m.shape[-2], m.shape[-1]).sum(axis=0)  # [F, N]
    freqs = np.arange(p.shape[0]) * sample_rate / n_fft
    sel = (freqs >= fmin) & (freqs <= fmax)
    pc = (np.round(12 * np.log2(freqs[sel] / 440.0) + 69).astype(np.int64)) % 12
    out = np.zeros((12, p.shape[1]), dtype=np.float64)
    np.add.at(out, pc, p[sel])
    return out


def chroma_cos(mag_a: np.ndarray, mag_b: np.ndarray, sample_rate: int, n_fft: int) -> float | None:
    """Mean frame-wise cosine between the chroma of two spectrograms (harmony similarity),
    over frames where both have energy; ``None`` if there are none."""
    ca, cb = chroma(mag_a, sample_rate, n_fft), chroma(mag_b, sample_rate, n_fft)
    na, nb = np.linalg.norm(ca, axis=0), np.linalg.norm(cb, axis=0)
    floor = 1e-9 * max(float(na.max(initial=0.0)), float(nb.max(initial=0.0)), 1e-30)
    ok = (na > floor) & (nb > floor)
    if not ok.any():
        return None
    cos = (ca[:, ok] * cb[:, ok]).sum(axis=0) / (na[ok] * nb[ok])
    return float(cos.mean())


def band_onset_envelope(band_power: np.ndarray) -> np.ndarray:
    """Spectral flux on band powers: [..., K, N] (mean |X|² per band and frame, e.g. the
    agent's features before the log) -> [N].

    The band-grid twin of :func:`onset_envelope` (a log-mel flux): half-wave rectified
    frame-to-frame rise of log(1 + 100·sqrt(P)) summed over bands and leading dims; frame 0
    is 0. It reads K values per frame instead of C·F bins (64× fewer for the small model
    in stereo), so the host's per-clip report can afford it.
    """
    logp = np.log1p(100.0 * np.sqrt(np.maximum(np.asarray(band_power, np.float64), 0.0)))
    flux = np.maximum(np.diff(logp, axis=-1), 0.0)
    env = flux.reshape(-1, flux.shape[-2], flux.shape[-1]).sum(axis=(0, 1))
    return np.concatenate([[0.0], env])


def band_onset_corr(band_power_a: np.ndarray, band_power_b: np.ndarray) -> float | None:
    """Pearson correlation of the band onset envelopes of two clips (rhythm similarity)."""
    return pearson(band_onset_envelope(band_power_a), band_onset_envelope(band_power_b))
