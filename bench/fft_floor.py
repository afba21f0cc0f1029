"""The FFT floor: the least work any STFT-masking render of a stereo pair must do, done as
plainly as numpy and ``scipy.fft`` allow.

Framing (centred frames, ``n_fft // 2`` zeros each side), the periodic Hann window, a float32
``rfft`` of every frame of the four channel-clips (input and target, two channels each) and
a float32 ``irfft`` of two of them (the output's two channels): 4 forward and 2 inverse
transforms of the same frames the host computes, in the host's chunks of frames, with
``workers`` FFT threads and preallocated windowed buffers. No file I/O, no features, no
model, no masking, no overlap-add, no report: the host's time over this one is what all of
those cost (``host_vs_fft_floor_ratio``).
"""

from __future__ import annotations

import numpy as np
import scipy.fft


def fft_floor(
    x: np.ndarray, y: np.ndarray, n_fft: int, hop: int, workers: int, chunk_frames: int
) -> float:
    """The floor's work on x, y (float32 [C, T], one shape): frames of both, windowed,
    ``rfft``, and the ``irfft`` of x's spectra, ``chunk_frames`` frames at a time.

    Returns the sum of the last chunk's inverse frames (so the work cannot be skipped);
    the caller times the call."""
    c, t = x.shape
    n = 1 + t // hop  # frames, as the host
    pad = n_fft // 2
    padded = np.zeros((2, c, (n - 1) * hop + n_fft), np.float32)
    padded[0, :, pad : pad + t] = x
    padded[1, :, pad : pad + t] = y
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=-1)[..., ::hop, :]
    buf = np.empty((2, c, min(chunk_frames, n), n_fft), np.float32)
    last = 0.0
    for a in range(0, n, chunk_frames):
        b = min(n, a + chunk_frames)
        windowed = buf[:, :, : b - a]
        np.multiply(frames[:, :, a:b], window, out=windowed)
        spec = scipy.fft.rfft(windowed, axis=-1, workers=workers)  # 4 forward: [2, C, n, F]
        seg = scipy.fft.irfft(spec[0], n=n_fft, axis=-1, workers=workers, overwrite_x=True)
        last = float(seg[..., 0].sum())  # 2 inverse: [C, n, n_fft]
    return last
