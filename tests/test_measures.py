"""plugin_host/measures (numpy): correlation, least-squares decomposition, onset and
chroma similarity, mask statistics, their undefined (None) cases, the accumulators fed in
chunks against the whole-clip calls, and ``measure_clip``."""

from __future__ import annotations

import numpy as np
import pytest

from model.config import AgentConfig
from model.dsp import band_edges
from plugin_host import measures
from plugin_host.dsp import HostDSP
from tests.helpers import chord, click_track
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
    assert measures.pearson(a, a) == pytest.approx(1.0)
    assert measures.pearson(a, -3.0 * a + 1.0) == pytest.approx(-1.0)  # sign kept, scale/offset not
    b = rng.standard_normal((2, 1000))
    r = measures.pearson(a, 0.6 * a + 0.8 * b)
    assert r == pytest.approx(0.6, abs=0.05)  # r_in² + r_tg² ≈ 1 for independent sources
    assert measures.pearson(np.zeros(100), a[0, :100]) is None  # silence
    assert measures.pearson(np.full(100, 0.3), a[0, :100]) is None  # constant
    assert measures.pearson(np.ones(1), np.ones(1)) is None  # too short
    bad = a[0].copy()
    bad[3] = np.nan
    assert measures.pearson(bad, a[0]) is None
    with pytest.raises(ValueError, match="shapes differ"):
        measures.pearson(np.ones(10), np.ones(11))


def test_ls_decomposition_recovers_a_linear_mix() -> None:
    x, y = generate_pair(train_config(seconds=1.0), 0)
    out = 0.6 * x + 0.3 * y
    d = measures.ls_decomposition(out, x, y)
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
    d = measures.ls_decomposition(out, x, y)
    expected = float(np.sum(noise**2) / np.sum(out.astype(np.float64) ** 2))
    # least squares also absorbs the tiny part of the noise that lies along x and y
    assert d["residual"] == pytest.approx(expected, rel=0.02)
    assert 0.0 < expected < 1.0


def test_ls_decomposition_undefined_cases() -> None:
    x, y = generate_pair(train_config(seconds=0.5), 2)
    silent = measures.ls_decomposition(np.zeros_like(x), x, y)
    assert all(v is None for v in silent.values())
    collinear = measures.ls_decomposition(x + y, x, 2.0 * x)  # x and target are not separable
    assert all(v is None for v in collinear.values())


def _bands(x: np.ndarray) -> np.ndarray:
    """Band powers [K, N] of a clip [C, T] on the model's STFT and bands."""
    dsp = HostDSP(CFG.n_fft, CFG.hop, band_edges(CFG))
    return dsp.band_power(dsp.stft(np.asarray(x, np.float32))[None])[0]


def test_band_onset_corr_same_rhythm_beats_different_rhythm() -> None:
    a = _bands(click_track(3.0, SR, bpm=120.0, seed=0))
    same = _bands(click_track(3.0, SR, bpm=120.0, seed=1))  # other noise bursts, same beats
    other = _bands(click_track(3.0, SR, bpm=93.0, seed=1))
    r_same, r_other = measures.band_onset_corr(a, same), measures.band_onset_corr(a, other)
    assert isinstance(r_same, float) and isinstance(r_other, float)
    assert r_same > 0.8 and r_same > r_other + 0.4
    env = measures.band_onset_envelope(a)
    assert env.shape == (a.shape[-1],) and env[0] == 0.0


def test_band_onset_envelope_chunked_equals_whole() -> None:
    """The accumulator carries the last frame across chunks: any chunking is exact."""
    bands = _bands(click_track(1.0, SR) + chord(1.0, SR))  # [K, N]
    whole = measures.band_onset_envelope(bands)
    for step in (1, 5, bands.shape[1]):
        acc = measures.BandOnsetEnvelope()
        for s in range(0, bands.shape[1], step):
            acc.update(bands[:, s : s + step].T)
        np.testing.assert_array_equal(acc.compute(), whole)  # same float64 ops, same order


def test_chroma_points_at_the_right_pitch_class() -> None:
    t = np.arange(SR) / SR
    for hz, pc in ((440.0, 9), (261.63, 0), (392.0, 7)):
        tone = (0.5 * np.sin(2 * np.pi * hz * t))[None]
        c = measures.chroma(_mag(tone), SR, CFG.n_fft)
        assert c.shape[0] == 12 and int(np.argmax(c.sum(axis=1))) == pc


def test_chroma_cos_same_chord_beats_other_key() -> None:
    a_major = _mag(chord(2.0, SR, root_hz=220.0))
    a_major_up = _mag(chord(2.0, SR, root_hz=440.0))  # same pitch classes, an octave up
    d_sharp = _mag(chord(2.0, SR, root_hz=220.0 * 2 ** (6 / 12)))  # tritone away: no common pc
    same = measures.chroma_cos(a_major, a_major_up, SR, CFG.n_fft)
    other = measures.chroma_cos(a_major, d_sharp, SR, CFG.n_fft)
    assert isinstance(same, float) and isinstance(other, float)
    assert same > 0.85 and same > other + 0.4


def test_onset_and_chroma_undefined_for_silence() -> None:
    silent = np.zeros((2, SR // 2), np.float32)
    clip = chord(0.5, SR)
    assert measures.chroma_cos(_mag(silent), _mag(clip), SR, CFG.n_fft) is None
    assert measures.band_onset_corr(_bands(silent), _bands(clip)) is None


def test_chroma_fold_equals_a_direct_fold() -> None:
    """The fast fold (reduceat per note, octaves by reshape) equals adding every bin's
    power into its pitch class one by one (``chroma_notes``)."""
    spec = np.random.default_rng(1).random((2, 1025, 30))  # [C, F, N]
    bins, notes = measures.chroma_notes(1025, SR, 2048)
    direct = np.zeros((12, 30))
    np.add.at(direct, notes % 12, (spec**2).sum(axis=0)[bins])
    np.testing.assert_allclose(measures.chroma(spec, SR, 2048), direct, rtol=1e-12)
    assert measures.chroma_notes(1025, SR, 2048)[0][0] * SR / 2048 >= measures.CHROMA_FMIN_HZ


def test_mask_stats_chunked_equals_whole_and_by_hand() -> None:
    rng = np.random.default_rng(4)
    m_in, m_tg = rng.random((8, 50)), rng.random((8, 50))  # [K, N]
    p_in, p_tg = rng.random((8, 50)), rng.random((8, 50))
    sizes = np.arange(1, 9)
    whole = measures.mask_stats(m_in, m_tg, p_in, p_tg, sizes)
    assert whole is not None
    assert whole["input_mask_mean"] == pytest.approx(m_in.mean(), rel=1e-12)
    assert whole["overlap"] == pytest.approx((m_in * m_tg).mean(), rel=1e-12)
    assert whole["complementarity"] == pytest.approx(100 * (1 - (m_in * m_tg).mean()), rel=1e-12)
    temporal = 0.5 * (m_in.std(axis=1, ddof=1).mean() + m_tg.std(axis=1, ddof=1).mean())
    assert whole["temporal_diversity"] == pytest.approx(temporal, rel=1e-9)
    e_in = (m_in**2 * p_in * sizes[:, None]).sum()
    e_tg = (m_tg**2 * p_tg * sizes[:, None]).sum()
    assert whole["masked_share_input"] == pytest.approx(e_in / (e_in + e_tg), rel=1e-12)
    acc = measures.MaskStats(sizes)
    for s0 in range(0, 50, 7):
        acc.update(*(a[:, s0 : s0 + 7].T for a in (m_in, m_tg, p_in, p_tg)))
    chunked = acc.compute()
    assert chunked is not None
    for key, value in whole.items():
        assert dict(chunked)[key] == pytest.approx(value, rel=1e-9), key  # float64 sums, reordered
    assert measures.MaskStats(sizes).compute() is None  # nothing fed
    silent = measures.mask_stats(m_in, m_tg, 0 * p_in, 0 * p_tg, sizes)
    assert silent is not None and silent["masked_share_input"] is None


def test_measure_clip_of_a_plain_sum_and_of_a_copy() -> None:
    dsp = HostDSP(CFG.n_fft, CFG.hop, band_edges(CFG))
    x, y = click_track(2.0, SR), chord(2.0, SR)
    total = measures.measure_clip(0.5 * x + 0.5 * y, x, y, dsp, SR)
    assert tuple(total) == measures.MEASURES
    assert total["verdict"] == "mixing" and total["meets_seed_criteria"] is True
    assert total["residual"] == pytest.approx(0.0, abs=1e-6)  # float32 sums of a linear mix
    assert 0.0 < total["share_input"] < 1.0
    assert total["onset_corr_input"] > 0.9 and total["chroma_cos_target"] > 0.9
    copy = measures.measure_clip(y.copy(), x, y, dsp, SR)
    assert copy["verdict"] == "copying_target" and copy["share_input"] == pytest.approx(0, abs=1e-6)
    assert copy["chroma_cos_target"] == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match="must match input"):
        measures.measure_clip(x[:1], x, y, dsp, SR)


def test_measure_clip_uses_the_whole_array_definitions() -> None:
    """One chunk through the accumulators gives what the whole-array functions give."""
    dsp = HostDSP(CFG.n_fft, CFG.hop, band_edges(CFG))
    x, y = generate_pair(train_config(seconds=1.0), 5)
    out = (0.6 * x + 0.3 * y + 0.01 * np.sin(np.arange(x.shape[1]))).astype(np.float32)
    got = measures.measure_clip(out, x, y, dsp, SR)
    spec = dsp.stft(np.stack([out, x, y]))
    band, mag = dsp.band_power(spec), np.abs(spec)
    # float32 block sums (accumulator) vs float64 arrays: 1e-6
    assert got["output_input_corr"] == pytest.approx(measures.pearson(out, x), abs=1e-6)
    assert got["share_input"] == pytest.approx(measures.ls_decomposition(out, x, y)["share_input"], abs=1e-6)  # fmt: skip
    assert got["onset_corr_input"] == pytest.approx(measures.band_onset_corr(band[0], band[1]), abs=1e-9)  # fmt: skip
    assert got["chroma_cos_target"] == pytest.approx(measures.chroma_cos(mag[0], mag[2], SR, CFG.n_fft), abs=1e-6)  # fmt: skip
