"""training/torch_measures.py: mask statistics and energy share against hand-computed
values, and every torch twin tied to its numpy definition in plugin_host/measures
(correlation, verdict on torch values, mask statistics, masked share, band onset
envelope, chroma and chroma cosine)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from plugin_host import measures
from tests.helpers import chord, click_track, make_tiny_agent
from training import torch_measures as diag
from training.data.synth import generate_pair, train_config


def test_mask_stats_constant_half_masks() -> None:
    half = torch.full((2, 3, 5), 0.5)
    s = diag.mask_stats(half, half)
    assert float(s["input_mask_mean"]) == 0.5 and float(s["target_mask_mean"]) == 0.5
    assert float(s["overlap"]) == pytest.approx(0.25)
    assert float(s["complementarity"]) == pytest.approx(75.0)
    assert float(s["mask_reg"]) == pytest.approx(0.25)  # (0.5 + 0.5 - 1)² = 0, + overlap
    assert float(s["temporal_diversity"]) == 0.0


def test_mask_stats_disjoint_binary_masks() -> None:
    m_in = torch.tensor([[[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]]])  # [1, 2, 4]
    m_tg = 1.0 - m_in
    s = diag.mask_stats(m_in, m_tg)
    assert float(s["input_mask_mean"]) == pytest.approx(0.25)
    assert float(s["target_mask_mean"]) == pytest.approx(0.75)
    assert float(s["overlap"]) == 0.0 and float(s["mask_reg"]) == 0.0
    assert float(s["complementarity"]) == pytest.approx(100.0)
    # std over frames (unbiased): band 0 alternates -> sqrt(4 · 0.25 / 3); band 1 constant -> 0
    std = math.sqrt(1.0 / 3.0)
    assert float(s["temporal_diversity"]) == pytest.approx(0.5 * (std / 2 + std / 2))
    one_frame = diag.mask_stats(m_in[..., :1], m_tg[..., :1])
    assert float(one_frame["temporal_diversity"]) == 0.0


def test_energy_share_by_hand() -> None:
    """K = 2 bands of 3 and 1 bins, one frame:
    E_in = 1²·1·3 + 0.5²·4·1 = 4, E_tg = 0.5²·2·3 + 1²·0·1 = 1.5, share = 4 / 5.5."""
    m_in = torch.tensor([[[1.0], [0.5]]])
    m_tg = torch.tensor([[[0.5], [1.0]]])
    p_in = torch.tensor([[[1.0], [4.0]]])
    p_tg = torch.tensor([[[2.0], [0.0]]])
    sizes = torch.tensor([3.0, 1.0])
    e_in, e_tg = diag.masked_energies(m_in, m_tg, p_in, p_tg, sizes)
    assert float(e_in[0]) == pytest.approx(4.0) and float(e_tg[0]) == pytest.approx(1.5)
    share = diag.energy_share(m_in, m_tg, p_in, p_tg, sizes)
    assert share.shape == (1,) and float(share[0]) == pytest.approx(4.0 / 5.5)
    # silence on both sides: share 0, not NaN (eps in the denominator)
    zero = torch.zeros_like(p_in)
    assert float(diag.energy_share(m_in, m_tg, zero, zero, sizes)[0]) == 0.0


def test_masked_energies_equal_the_masked_stft_energy() -> None:
    """Band-grid energies equal Σ over bins of |M·X|² on the real STFT (channel mean)."""
    agent = make_tiny_agent()
    x, y = generate_pair(train_config(seconds=1.0), 4)
    with torch.no_grad():
        out = agent(torch.from_numpy(x)[None], torch.from_numpy(y)[None], 0.5)
        e_in, e_tg = diag.masked_energies(
            out.input_mask, out.target_mask, out.input_band_power, out.target_band_power,
            agent.dsp.band_sizes,
        )  # fmt: skip
        spec_in = agent.dsp.stft(torch.from_numpy(x)[None])
        spec_tg = agent.dsp.stft(torch.from_numpy(y)[None])
        direct_in = (agent.dsp.expand(out.input_mask)[:, None] * spec_in).abs().square()
        direct_tg = (agent.dsp.expand(out.target_mask)[:, None] * spec_tg).abs().square()
    # float32 sums over ~10^5 cells: 1e-4 relative
    assert float(e_in[0]) == pytest.approx(float(direct_in.sum(dim=(2, 3)).mean()), rel=1e-4)
    assert float(e_tg[0]) == pytest.approx(float(direct_tg.sum(dim=(2, 3)).mean()), rel=1e-4)


def test_pearson_torch_matches_numpy() -> None:
    x, y = generate_pair(train_config(seconds=1.0), 9)
    out = 0.7 * x + 0.4 * y
    gen = np.random.default_rng(0)
    pairs = [
        (out, x),
        (out, y),
        (x, y),
        (-out, x),
        (gen.standard_normal(1000), gen.standard_normal(1000)),
    ]
    for a, b in pairs:
        r_np = measures.pearson(a, b)
        r_t = float(
            diag.pearson(
                torch.from_numpy(np.asarray(a, np.float32)),
                torch.from_numpy(np.asarray(b, np.float32)),
            )
        )
        assert r_np is not None
        assert r_t == pytest.approx(r_np, abs=1e-5)  # float32 vs float64 sums
    batch_a = torch.from_numpy(np.stack([out, -out]))
    batch_b = torch.from_numpy(np.stack([x, x]))
    per = diag.pearson(batch_a, batch_b, per_item=True)
    r = measures.pearson(out, x)
    assert r is not None and per.shape == (2,)
    assert float(per[0]) == pytest.approx(r, abs=1e-5)
    assert float(per[1]) == pytest.approx(-r, abs=1e-5)


def test_constant_signal_is_undefined_on_both_sides() -> None:
    silent = np.zeros((2, 500), np.float32)
    other = np.random.default_rng(1).standard_normal((2, 500)).astype(np.float32)
    assert measures.pearson(silent, other) is None
    r_t = float(diag.pearson(torch.from_numpy(silent), torch.from_numpy(other)))
    assert math.isnan(r_t)
    assert measures.verdict(r_t, 0.5) is None  # NaN from torch counts as undefined
    assert measures.verdict(None, 0.5) is None
    assert measures.verdict(float("nan"), 0.5) is None


BOUNDARY_CASES = [
    # (input corr, target corr, verdict): the seed's rules at their exact edges
    (0.2, 0.2, "mixing"),  # 0.2 is not < 0.2
    (0.1999, 0.1999, "noise"),
    (0.1999, 0.2, "mixing"),  # not noise (one is 0.2), and neither is 2x the other
    (0.2, 0.4, "mixing"),  # 0.4 > 2 · 0.2 is false: exactly 2x is still mixing
    (0.2, 0.4001, "copying_target"),
    (0.4, 0.2, "mixing"),
    (0.4001, 0.2, "copying_input"),
    (0.114, 0.862, "copying_target"),  # the seed's failure
    (0.237, 0.257, "mixing"),  # the seed's healthy log
    (-0.9, 0.3, "copying_input"),  # |corr|: an inverted input is still the input
    (0.3, -0.9, "copying_target"),
    (-0.1, -0.15, "noise"),
    (-0.45, 0.55, "mixing"),
    (0.0, 0.0, "noise"),
]


@pytest.mark.parametrize(("ri", "rt", "expected"), BOUNDARY_CASES)
def test_verdict_rules_at_boundaries(ri: float, rt: float, expected: str) -> None:
    assert measures.verdict(ri, rt) == expected


def test_verdict_constants_are_the_seeds() -> None:
    assert (measures.NOISE_BELOW, measures.COPY_RATIO, measures.SUCCESS_INPUT_CORR) == (
        0.2,
        2.0,
        0.4,
    )
    grid = np.round(np.linspace(-1.0, 1.0, 41), 3)
    seen = {measures.verdict(float(a), float(b)) for a in grid for b in grid}
    assert seen == set(measures.VERDICTS)


def test_meets_seed_criteria() -> None:
    assert measures.meets_seed_criteria(0.45, 0.55)
    assert measures.meets_seed_criteria(0.41, 0.82)  # exactly 2x: still mixing
    assert not measures.meets_seed_criteria(0.4, 0.5)  # needs > 0.4
    assert not measures.meets_seed_criteria(0.45, 0.91)  # copying target
    assert not measures.meets_seed_criteria(0.114, 0.862)
    assert not measures.meets_seed_criteria(-0.5, 0.5)  # the seed's test is on the signed corr
    assert not measures.meets_seed_criteria(None, 0.5)


def test_mask_stats_torch_twin_matches_numpy() -> None:
    """Every mask statistic and the masked share, torch (one item) vs numpy accumulator fed
    in three chunks: float32 vs float64 sums over 16 × 40 cells, 1e-5."""
    gen = torch.Generator().manual_seed(3)
    m_in, m_tg = torch.rand(1, 16, 40, generator=gen), torch.rand(1, 16, 40, generator=gen)
    p_in, p_tg = torch.rand(1, 16, 40, generator=gen), 3 * torch.rand(1, 16, 40, generator=gen)
    sizes = torch.arange(1, 17, dtype=torch.float32)
    t = {k: float(v) for k, v in diag.mask_stats(m_in, m_tg).items()}
    t["masked_share_input"] = float(diag.energy_share(m_in, m_tg, p_in, p_tg, sizes)[0])
    acc = measures.MaskStats(sizes.numpy())
    arrays = [a[0].numpy().T for a in (m_in, m_tg, p_in, p_tg)]  # frame-major [N, K]
    for s0, s1 in ((0, 7), (7, 8), (8, 40)):
        acc.update(*(a[s0:s1] for a in arrays))
    n = acc.compute()
    assert n is not None and set(n) == set(t)
    for key, value in t.items():
        assert dict(n)[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key


def test_band_onset_envelope_torch_twin_matches_numpy() -> None:
    agent = make_tiny_agent()
    x = torch.from_numpy(click_track(0.5) + chord(0.5))[None]
    bp = agent.dsp.band_power(agent.dsp.stft(x))  # [1, K, N]
    ours = diag.band_onset_envelope(bp)[0].numpy()
    ref = measures.band_onset_envelope(bp[0].numpy())
    # float32 torch (with a 1e-12 floor under the root) vs float64 numpy: rounding only
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-3)
    assert ours.shape == (bp.shape[-1],) and ours[0] == 0.0
    assert float(ref.max()) > 1.0  # clicks make onsets: the comparison is not of zeros


def test_chroma_and_cosine_torch_twins_match_numpy() -> None:
    agent = make_tiny_agent()
    sr, n_fft = agent.config.sample_rate, agent.config.n_fft

    def mag(x: np.ndarray) -> torch.Tensor:
        return agent.dsp.stft(torch.from_numpy(x)[None]).abs()

    a, b = mag(chord(0.3, root_hz=220.0)), mag(chord(0.3, root_hz=261.6) + click_track(0.3))
    ours = diag.chroma(a, sr, n_fft)[0].numpy()
    np.testing.assert_allclose(ours, measures.chroma(a[0].numpy(), sr, n_fft), rtol=1e-4)
    cos = diag.chroma_cosine(diag.chroma(a, sr, n_fft), diag.chroma(b, sr, n_fft)).item()
    ref = measures.chroma_cos(a[0].numpy(), b[0].numpy(), sr, n_fft)
    assert ref is not None and 0.2 < ref < 0.95  # a real comparison, not 0 or 1
    assert cos == pytest.approx(ref, abs=1e-4)  # float32 vs float64 sums
