"""Share calibration: the INPUT's share of the masked energy follows the balance knob.

A trained core reads its knob imperfectly: at knob 0.5 the bundled model gives the INPUT
0.52-0.82 of the masked energy, depending on the music (docs/model-card.md). With
calibration on, the host corrects the two masks after the core, so that the share of the
masked energy, E_in / (E_in + E_tg) with E = Σ|M·X|² (the report's ``masked_share_input``),
follows the knob b over time:

- per frame, the masked energies e_in(t) = Σ_k M_in² · P_in · size_k and e_tg(t) (band
  powers P, bins per band size_k) are smoothed by a causal exponential average of time
  constant ``time_constant_s`` (bias-corrected, so the first frames use the average so far;
  carried from chunk to chunk, so a chunked render is exact);
- the relative power gain g(t) = (1 − b) · ē_in / (b · ē_tg) that would make the smoothed
  share b is limited to ± ``max_gain_db``;
- it is split evenly: M_tg · g^(1/4), M_in · g^(−1/4), which keeps the geometric mean of the
  two levels (a corrected mask may exceed 1 by up to ``max_gain_db`` / 2 dB).

The core's own choices inside each mask (which bands, which frames) are untouched: only the
balance between the two masks moves, slowly. Calibration is a host step after the model, not
part of the ONNX file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_EPS = 1e-20  # added to smoothed energies (|X|² of float32 audio): silence gives g = (1-b)/b
_BLOCK = 256  # frames per closed-form block of the average (α^-256 ≈ e^6 at 0.5 s) ...
_MAX_EXPONENT = 50.0  # ... and fewer where α^-k would pass e^50 (short time constants)
_B_LIMIT = 1e-3  # the knob is read in [_B_LIMIT, 1 - _B_LIMIT] (0 and 1 hit the gain limit)


def exponential_average(
    x: np.ndarray, alpha: float, state: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """y_t = α·y_(t−1) + (1 − α)·x_t along the last axis of x [..., n] from y_(−1) = state
    [...]: (y float64 [..., n], y's last values). In closed form over blocks short enough
    that α^−k stays far from overflow (y_t = αᵗ·y_0 + (1 − α)·Σ_k α^(t−k)·x_k): numpy only,
    since scipy.signal.lfilter would add a second to every process start."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    block = int(np.clip(_MAX_EXPONENT / -math.log(alpha), 1, _BLOCK))
    out = np.empty(x.shape, np.float64)
    y0 = np.asarray(state, np.float64)
    for i in range(0, x.shape[-1], block):
        part = x[..., i : i + block]
        up = alpha ** -np.arange(1, part.shape[-1] + 1)  # α^-k <= e^_MAX_EXPONENT
        y = (y0[..., None] + np.cumsum(part * up, axis=-1) * (1.0 - alpha)) / up
        out[..., i : i + part.shape[-1]] = y
        y0 = y[..., -1]
    return out, y0.copy()


@dataclass(frozen=True)
class ShareCalibrationConfig:
    """``time_constant_s``: smoothing of the masked energies (s); ``max_gain_db``: limit of
    the relative gain between the masks (dB of power)."""

    time_constant_s: float = 0.5
    max_gain_db: float = 12.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.time_constant_s) and self.time_constant_s > 0):
            raise ValueError(f"time_constant_s must be > 0, got {self.time_constant_s}")
        if not (math.isfinite(self.max_gain_db) and self.max_gain_db >= 0):
            raise ValueError(f"max_gain_db must be >= 0, got {self.max_gain_db}")


class ShareCalibrator:
    """Corrects masks chunk by chunk, in frame order (``apply``); holds the smoothing state.

    band_sizes: int [K] STFT bins per band; frame_rate: frames per second (sample rate / hop).
    """

    def __init__(
        self,
        band_sizes: np.ndarray,
        frame_rate: float,
        cfg: ShareCalibrationConfig | None = None,
    ) -> None:
        self.cfg = cfg or ShareCalibrationConfig()
        self.sizes = np.asarray(band_sizes, np.float64)
        self.alpha = math.exp(-1.0 / (self.cfg.time_constant_s * frame_rate))
        self._state = np.zeros(2)  # the running sums of (e_in, e_tg) after the last frame
        self._frames = 0  # frames seen
        self._log_limit = self.cfg.max_gain_db / 10.0 * math.log(10.0)

    def _smooth(self, energy: np.ndarray) -> np.ndarray:
        """energy [2, n] -> its exponential average [2, n], continuing the previous chunk's.

        Started from zero and divided by 1 − αᵗ after t frames (a bias-corrected average),
        so the first frames are weighed as an average of all frames so far, not the first
        frame's energy alone."""
        n = energy.shape[1]
        out, self._state = exponential_average(energy, self.alpha, self._state)
        t = self._frames + np.arange(1, n + 1)
        self._frames += n
        return out / -np.expm1(t * math.log(self.alpha))  # 1 - α^t, exact for small (1-α)t

    def apply(
        self,
        input_mask: np.ndarray,
        target_mask: np.ndarray,
        input_band_power: np.ndarray,
        target_band_power: np.ndarray,
        balance: np.ndarray | float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Masks and band powers float [n, K] (frame-major, the next n frames), balance float
        or [n] -> corrected (input_mask, target_mask) float32 [n, K] (new arrays)."""
        m_in = np.asarray(input_mask, np.float64)
        m_tg = np.asarray(target_mask, np.float64)
        n = m_in.shape[0]
        assert m_tg.shape == m_in.shape and m_in.shape[-1] == self.sizes.size, (
            f"masks must be [n, {self.sizes.size}], got {m_in.shape} and {m_tg.shape}"
        )
        if n == 0:
            return m_in.astype(np.float32), m_tg.astype(np.float32)
        energy = np.stack([(m_in**2 * input_band_power) @ self.sizes,
                           (m_tg**2 * target_band_power) @ self.sizes])  # fmt: skip
        smooth = self._smooth(energy) + _EPS
        b = np.clip(np.broadcast_to(np.asarray(balance, np.float64), (n,)), _B_LIMIT, 1 - _B_LIMIT)
        log_g = np.log1p(-b) - np.log(b) + np.log(smooth[0]) - np.log(smooth[1])
        log_g = np.clip(log_g, -self._log_limit, self._log_limit)
        quarter = np.exp(0.25 * log_g)[:, None]  # g^(1/4) per frame
        return (m_in / quarter).astype(np.float32), (m_tg * quarter).astype(np.float32)
