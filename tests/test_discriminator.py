"""training/discriminator.py: size, shapes, gradients, config errors."""

from __future__ import annotations

import pytest
import torch

from training.discriminator import DiscriminatorConfig, MultiScaleSTFTDiscriminator


def test_default_size_is_about_a_tenth_of_a_million() -> None:
    disc = MultiScaleSTFTDiscriminator()
    n = sum(p.numel() for p in disc.parameters())
    assert 50_000 <= n <= 150_000, n
    assert len(disc.scales) == 3


def test_shapes_per_scale_and_mono_stereo_agree() -> None:
    cfg = DiscriminatorConfig(n_ffts=(256, 512), freq_rows=16, channels=8, n_layers=2)
    disc = MultiScaleSTFTDiscriminator(cfg)
    t = 4096
    mono = torch.randn(3, 1, t, generator=torch.Generator().manual_seed(0))
    outs = disc(mono)
    assert len(outs) == 2
    for n_fft, (logits, feats) in zip(cfg.n_ffts, outs, strict=True):
        frames = 1 + t // (n_fft // 4)
        half = (frames + 1) // 2  # the first layer strides 2 in time
        assert logits.shape == (3, 1, 16 // 2**2, half)
        assert [f.shape for f in feats] == [(3, 8, 8, half), (3, 8, 4, half)]
    # a stereo clip with equal channels is judged like its mono version
    stereo_logits = disc(mono.repeat(1, 2, 1))[0][0]
    torch.testing.assert_close(stereo_logits, outs[0][0])


def test_gradient_reaches_the_audio() -> None:
    disc = MultiScaleSTFTDiscriminator(DiscriminatorConfig(n_ffts=(256,), freq_rows=16))
    x = torch.randn(1, 1, 2048, requires_grad=True)
    sum(lg.mean() for lg, _ in disc(x)).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(n_ffts=()), "n_ffts"),
        (dict(n_ffts=(30,)), "n_ffts"),
        (dict(n_ffts=(64,), freq_rows=64), "freq_rows"),
        (dict(channels=0), "channels"),
    ],
)
def test_bad_config_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        DiscriminatorConfig(**kwargs)  # type: ignore[arg-type]


def test_rejects_wrong_rank() -> None:
    with pytest.raises(AssertionError, match=r"\[B, C, T\]"):
        MultiScaleSTFTDiscriminator()(torch.zeros(2, 100))
