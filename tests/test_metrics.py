"""plugin_host/metrics.py (numpy): correlation, least-squares decomposition, onset and
chroma similarity, and their undefined (None) cases."""

from __future__ import annotations

import numpy as np
import pytest

from model.config import AgentConfig
from model.dsp import band_edges
from plugin_host import metrics
from plugin_host.dsp import HostDSP
from tests.signals import chord, click_track
from training.data.synth import generate_pair, train_config

SR = 44100
CFG = AgentConfig()


def _mag(x: np.ndarray) -> np.ndarray:
    """|STFT| [C, F, N] of a clip [C, T] with the model's STFT (n_fft 2048, hop 512)."""
    dsp = HostDSP(CFG.n_fft, CFG.hop, band_edges(CFG))
    return np.abs(dsp.stft(np.asarray(x, np.float32)))


def test_pearson_values_and_undefined_cases() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 1000))
    assert metrics.pearson(a, a) == pytest.approx(1.0)
    assert metrics.pearson(a, -3.0 * a + 1.0) == pytest.approx(-1.0)  # sign kept, scale/offset not
    b = rng.standard_normal((2, 1000))
    r = metrics.pearson(a, 0.6 * a + 0.8 * b)
    assert r == pytest.approx(0.6, abs=0.05)  # r_in² + r_tg² ≈ 1 for independent sources
    assert metrics.pearson(np.zeros(100), a[0, :100]) is None  # silence
    assert metrics.pearson(np.full(100, 0.3), a[0, :100]) is None  # constant
    assert metrics.pearson(np.ones(1), np.ones(1)) is None  # too short
    bad = a[0].copy()
    bad[3] = np.nan
    assert metrics.pearson(bad, a[0]) is None
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.pearson(np.ones(10), np.ones(11))


def test_ls_decomposition_recovers_a_linear_mix() -> None:
    x, y = generate_pair(train_config(seconds=1.0), 0)
    out = 0.6 * x + 0.3 * y
    d = metrics.ls_decomposition(out, x, y)
    assert d["coef_input"] == pytest.approx(0.6, abs=1e-5)
    assert d["coef_target"] == pytest.approx(0.3, abs=1e-5)
    e_in, e_tg = (
        0.36 * float(np.sum(x.astype(np.float64) ** 2)),
        0.09 * float(np.sum(y.astype(np.float64) ** 2)),
    )
    assert d["share_input"] == pytest.approx(e_in / (e_in + e_tg), abs=1e-5)
    assert d["share_target"] == pytest.approx(e_tg / (e_in + e_tg), abs=1e-5)
    assert d["residual"] == pytest.approx(0.0, abs=1e-8)


def test_ls_decomposition_residual_measures_what_is_new() -> None:
    x, y = generate_pair(train_config(seconds=1.0), 1)
    noise = np.random.default_rng(2).standard_normal(x.shape) * 0.05
    out = 0.5 * x + 0.5 * y + noise
    d = metrics.ls_decomposition(out, x, y)
    expected = float(np.sum(noise**2) / np.sum(out.astype(np.float64) ** 2))
    # least squares also absorbs the tiny part of the noise that lies along x and y
    assert d["residual"] == pytest.approx(expected, rel=0.02)
    assert 0.0 < expected < 1.0


def test_ls_decomposition_undefined_cases() -> None:
    x, y = generate_pair(train_config(seconds=0.5), 2)
    silent = metrics.ls_decomposition(np.zeros_like(x), x, y)
    assert all(v is None for v in silent.values())
    collinear = metrics.ls_decomposition(x + y, x, 2.0 * x)  # x and target are not separable
    assert all(v is None for v in collinear.values())


def test_onset_corr_same_rhythm_beats_different_rhythm() -> None:
    a = _mag(click_track(3.0, SR, bpm=120.0, seed=0))
    same = _mag(click_track(3.0, SR, bpm=120.0, seed=1))  # other noise bursts, same beats
    other = _mag(click_track(3.0, SR, bpm=93.0, seed=1))
    r_same, r_other = metrics.onset_corr(a, same), metrics.onset_corr(a, other)
    assert r_same is not None and r_other is not None
    assert r_same > 0.8 and r_same > r_other + 0.4
    assert metrics.onset_envelope(a).shape == (a.shape[-1],)
    assert metrics.onset_envelope(a)[0] == 0.0


def test_chroma_points_at_the_right_pitch_class() -> None:
    t = np.arange(SR) / SR
    for hz, pc in ((440.0, 9), (261.63, 0), (392.0, 7)):
        tone = (0.5 * np.sin(2 * np.pi * hz * t))[None]
        c = metrics.chroma(_mag(tone), SR, CFG.n_fft)
        assert c.shape[0] == 12 and int(np.argmax(c.sum(axis=1))) == pc


def test_chroma_cos_same_chord_beats_other_key() -> None:
    a_major = _mag(chord(2.0, SR, root_hz=220.0))
    a_major_up = _mag(chord(2.0, SR, root_hz=440.0))  # same pitch classes, an octave up
    d_sharp = _mag(chord(2.0, SR, root_hz=220.0 * 2 ** (6 / 12)))  # tritone away: no common pc
    same = metrics.chroma_cos(a_major, a_major_up, SR, CFG.n_fft)
    other = metrics.chroma_cos(a_major, d_sharp, SR, CFG.n_fft)
    assert same is not None and other is not None
    assert same > 0.85 and same > other + 0.4


def test_onset_and_chroma_undefined_for_silence() -> None:
    silent = _mag(np.zeros((2, SR // 2), np.float32))
    clip = _mag(chord(0.5, SR))
    assert metrics.chroma_cos(silent, clip, SR, CFG.n_fft) is None
    assert metrics.onset_corr(silent, clip) is None
