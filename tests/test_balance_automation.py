"""Balance automation end to end (issue 12 part 3): the core's per-frame knob in torch and
ONNX, chunk-exact streaming with a moving knob, old (format version 1) files, render() and
the CLI with a curve, and the acceptance check on the bundled model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from pedalboard.io import AudioFile

from export.metadata import base_metadata, set_metadata
from export.onnx_export import build_core_proto, check_proto, write_atomic
from export.parity import synth_pair
from plugin_host import RenderError, render
from plugin_host.balance_curve import BalanceCurve
from plugin_host.bundled import DEFAULT_ONNX
from plugin_host.measures.masks import MaskStats
from plugin_host.pipeline import PipelineResult, process, process_chunked
from plugin_host.runtime import BalanceNotSupported, LoadedModel, load_model
from plugin_host.share_calibration import ShareCalibrationConfig
from tests.helpers import chord, click_track, make_tiny_agent

# Chunked vs whole, and render() vs process(): the same frames computed in other batches;
# float32 rounding of FFTs and overlap-add order only (as tests/test_host_render.py).
CHUNK_TOL = 1e-5
SR = 44100


@pytest.fixture(scope="module")
def model(tiny_onnx: Path) -> LoadedModel:
    return load_model(tiny_onnx, provider="cpu")


@pytest.fixture(scope="module")
def v1_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny agent exported with the version-1 contract (balance [B]), as files made
    before format version 2 are."""
    agent = make_tiny_agent()
    proto = build_core_proto(agent, per_frame_balance=False)
    set_metadata(proto, {**base_metadata(agent), "format_version": "1"})
    check_proto(proto)
    return write_atomic(proto, tmp_path_factory.mktemp("v1") / "old.onnx")


def ramp(model: LoadedModel, n_samples: int, a: float = 0.1, b: float = 0.9) -> np.ndarray:
    return np.linspace(a, b, model.dsp.n_frames(n_samples), dtype=np.float32)


def write(path: Path, x: np.ndarray) -> Path:
    with AudioFile(str(path), "w", SR, x.shape[0], bit_depth=32) as f:
        f.write(x.astype(np.float32))
    return path


# ------------------------------------------------------------------------ the core


def test_torch_per_frame_balance_equals_per_clip_when_constant() -> None:
    """Training passes one balance per clip ([B]); [B, N] repeating it gives the same."""
    agent = make_tiny_agent()
    x, y = torch.randn(2, 1, 4000), torch.randn(2, 1, 4000)
    n = 1 + 4000 // agent.config.hop
    per_clip = agent(x, y, torch.tensor([0.3, 0.7]))
    per_frame = agent(x, y, torch.tensor([[0.3] * n, [0.7] * n]))
    assert torch.equal(per_clip.audio, per_frame.audio)
    moving = agent(x, y, torch.linspace(0.1, 0.9, n).repeat(2, 1))
    assert not torch.allclose(moving.input_mask, per_clip.input_mask)
    with pytest.raises(ValueError, match=r"Tensor\[B, N\] with B = 2, N = 8"):
        agent(x, y, torch.zeros(2, n + 1))


def test_new_file_takes_a_per_frame_balance(model: LoadedModel) -> None:
    assert model.per_frame_balance and model.metadata.format_version == 2
    inputs = {i.name: i.shape for i in model.session.get_inputs()}
    assert len(inputs["balance"]) == 2


# ----------------------------------------------------------------- chunk-exactness


@pytest.mark.parametrize("channels,seconds", [(2, 3.3), (1, 1.01)])
def test_chunked_equals_whole_with_a_moving_knob(
    model: LoadedModel, channels: int, seconds: float
) -> None:
    x, y = click_track(seconds, channels=channels), chord(seconds, channels=channels)
    knob = ramp(model, x.shape[1])
    whole = process(model, x, y, knob).audio
    assert not np.allclose(whole, process(model, x, y, 0.5).audio, atol=1e-3)  # it moves
    for chunk in (1, 5, 64, 10_000):
        got = process_chunked(model, x, y, knob, chunk_frames=chunk, feed_samples=777)
        np.testing.assert_allclose(got, whole, atol=CHUNK_TOL, rtol=0)


def test_bad_per_frame_balance_is_refused(model: LoadedModel) -> None:
    x = click_track(0.5)
    with pytest.raises(ValueError, match="balance must be a float or"):
        process(model, x, x, np.full(3, 0.5, np.float32))
    with pytest.raises(ValueError, match=r"finite and in \[0, 1\]"):
        process(model, x, x, ramp(model, x.shape[1], 0.0, 1.5))


# ------------------------------------------------------------------ old files


def test_version_1_file_renders_a_constant_knob_and_refuses_a_moving_one(
    model: LoadedModel, v1_onnx: Path, tmp_path: Path
) -> None:
    old = load_model(v1_onnx, provider="cpu")
    assert not old.per_frame_balance and old.metadata.format_version == 1
    x, y = click_track(1.2), chord(1.2)
    # same weights: a constant knob gives the new file's output (same graph but the input)
    np.testing.assert_allclose(
        process(old, x, y, 0.3).audio, process(model, x, y, 0.3).audio, atol=1e-6, rtol=0
    )
    constant = np.full(old.dsp.n_frames(x.shape[1]), 0.3, np.float32)
    np.testing.assert_array_equal(process(old, x, y, constant).audio, process(old, x, y, 0.3).audio)
    with pytest.raises(BalanceNotSupported) as info:
        process(old, x, y, ramp(old, x.shape[1]))
    msg = str(info.value)
    assert msg.startswith(f"{v1_onnx}: ") and "re-export" in msg and "\n" not in msg
    inp, tgt = write(tmp_path / "in.wav", x), write(tmp_path / "tg.wav", y)
    report = render(inp, tgt, old, tmp_path / "out.wav", balance=0.3)
    assert report["balance"] == 0.3 and report["balance_curve"] is None
    curve = BalanceCurve(((0.0, 0.2), (1.0, 0.8)), source="ramp.csv")
    with pytest.raises(RenderError, match=r"old\.onnx: this model file .* re-export"):
        render(inp, tgt, old, tmp_path / "out2.wav", balance=curve)
    assert not (tmp_path / "out2.wav").exists()


# ------------------------------------------------------------------ render, CLI


def test_render_with_a_curve_matches_process_and_reports_it(
    model: LoadedModel, tmp_path: Path
) -> None:
    x, y = click_track(2.5), chord(2.5)
    inp, tgt = write(tmp_path / "in.wav", x), write(tmp_path / "tg.wav", y)
    curve = BalanceCurve(((0.5, 0.2), (2.0, 0.8)))
    report = render(inp, tgt, model, tmp_path / "out.wav", balance=curve, chunk_frames=16)
    knob = curve.frame_values(model.dsp.n_frames(x.shape[1]), model.metadata.hop, SR)
    with AudioFile(str(tmp_path / "out.wav")) as f:
        out = f.read(f.frames)
    calibrated = process(model, x, y, knob, ShareCalibrationConfig()).audio  # render's default
    np.testing.assert_allclose(out, calibrated, atol=CHUNK_TOL, rtol=0)
    assert report["balance_curve"] == {"unit": "s", "points": [[0.5, 0.2], [2.0, 0.8]]}
    assert report["balance"] == pytest.approx(float(knob.mean()), abs=1e-6)
    assert 0.2 < report["balance"] < 0.8
    bars = BalanceCurve(((1.0, 0.2), (2.0, 0.8)), unit="bars", source="bars.csv")
    with pytest.raises(RenderError, match=r"bars\.csv: times in bars need a tempo"):
        render(inp, tgt, model, tmp_path / "out3.wav", balance=bars)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plugin_host.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_cli_balance_curve(tiny_onnx: Path, tmp_path: Path) -> None:
    write(tmp_path / "in.wav", click_track(1.0))
    write(tmp_path / "tg.wav", chord(1.0))
    (tmp_path / "ramp.csv").write_text("time,value\n0,0.2\n1,0.8\n")
    (tmp_path / "bad.csv").write_text("time,value\n0,0.2\n1,2\n")
    base = ["render", "--input", "in.wav", "--target", "tg.wav", "--model", str(tiny_onnx)]
    both = cli(*base, "-o", "o.wav", "--balance-curve", "ramp.csv", "--balance", "0.3",
               cwd=tmp_path)  # fmt: skip
    assert both.returncode == 2 and "--balance-curve and --balance exclude" in both.stderr
    bad = cli(*base, "-o", "o.wav", "--balance-curve", "bad.csv", cwd=tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        "creative-agent render: error: bad.csv: line 3: value 2 must be in [0, 1]"
    )
    ok = cli(*base, "-o", "o.wav", "--balance-curve", "ramp.csv", "--json", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert report["balance_curve"] == {"unit": "s", "points": [[0.0, 0.2], [1.0, 0.8]]}
    assert report["balance"] == pytest.approx(0.5, abs=0.01)  # a ramp's mean over the clip
    assert json.loads((tmp_path / "o.wav.json").read_text())["balance_curve"]


def test_render_batch_balance_curve_column(tiny_onnx: Path, tmp_path: Path) -> None:
    from plugin_host.batch import run_batch

    write(tmp_path / "in.wav", click_track(1.0))
    write(tmp_path / "tg.wav", chord(1.0))
    (tmp_path / "ramp.json").write_text('{"points": [[0, 0.2], [1, 0.8]]}')
    (tmp_path / "m.csv").write_text(
        "input,target,output,balance,balance_curve\n"
        "in.wav,tg.wav,a.wav,,ramp.json\n"
        "in.wav,tg.wav,b.wav,0.3,ramp.json\n"
        "in.wav,tg.wav,c.wav,,missing.json\n"
    )
    _, results = run_batch(tmp_path / "m.csv", str(tiny_onnx), provider="cpu",
                           show_progress=False)  # fmt: skip
    ok = results[2]
    assert isinstance(ok, dict)
    assert ok["balance_curve"] == {"unit": "s", "points": [[0.0, 0.2], [1.0, 0.8]]}
    assert results[3] == "balance and balance_curve exclude each other"
    assert isinstance(results[4], str) and "missing.json: cannot read balance curve" in results[4]


# ------------------------------------------------------------------ acceptance

SECONDS = 8


def per_second_shares(m: LoadedModel, r: PipelineResult, n_seconds: int) -> list[float]:
    """The report's masked share (plugin_host/measures/masks.py: E_in / (E_in + E_tg) with
    E = Σ|M·X|²) over the frames centred in each second."""
    sizes = np.diff(m.dsp.edges)
    bp_in = m.dsp.band_power(r.spec_in[None])[0]  # [K, N]
    bp_tg = m.dsp.band_power(r.spec_tg[None])[0]
    t = np.arange(bp_in.shape[1]) * m.metadata.hop / m.metadata.sample_rate
    shares = []
    for s in range(n_seconds):
        sel = (t >= s) & (t < s + 1)
        stats = MaskStats(sizes)
        stats.update(r.input_mask[:, sel].T, r.target_mask[:, sel].T, bp_in[:, sel].T,
                     bp_tg[:, sel].T)  # fmt: skip
        value = stats.compute()
        assert value is not None and value["masked_share_input"] is not None
        shares.append(value["masked_share_input"])
    return shares


def looped_pair(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A built-in drums/harmony pair (training.data.synth's held-out settings), one second
    looped SECONDS times: every second holds the same music, so what changes from second to
    second is the knob alone."""
    x, y = synth_pair(SR, 2, SR, seed)
    return np.tile(x, (1, SECONDS)), np.tile(y, (1, SECONDS))


@pytest.fixture(scope="module")
def bundled() -> LoadedModel:
    return load_model(DEFAULT_ONNX, provider="cpu")


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_ramp_raises_the_masked_share_second_by_second(bundled: LoadedModel, seed: int) -> None:
    """A 0.2 -> 0.8 ramp over the clip: the masked share rises every second, and each
    second's share is what a constant knob at that second's mean value gives there.

    Tolerance 0.02: the ramp's frames see their neighbours' (different) knob through the
    core's receptive field and the knob varies by 0.075 inside a second; measured at most
    0.010 over these six pairs."""
    m = bundled
    x, y = looped_pair(seed)
    n = m.dsp.n_frames(x.shape[1])
    curve = BalanceCurve(((0.0, 0.2), (float(SECONDS), 0.8)))
    knob = curve.frame_values(n, m.metadata.hop, SR)
    shares = per_second_shares(m, process(m, x, y, knob), SECONDS)
    assert all(np.diff(shares) > 0), shares
    t = np.arange(n) * m.metadata.hop / SR
    for s, share in enumerate(shares):
        mean = float(knob[(t >= s) & (t < s + 1)].mean())
        constant = per_second_shares(m, process(m, x, y, mean), SECONDS)[s]
        assert abs(share - constant) <= 0.02, (s, share, constant)


@pytest.mark.parametrize("seed", [1, 2])
def test_ramp_follows_the_curve_within_0_1_where_the_knob_is_calibrated(
    bundled: LoadedModel, seed: int
) -> None:
    """The issue's acceptance: each second's masked share within 0.1 of the curve's mean
    there. It holds only where the model's own knob is calibrated on the pair (a constant
    knob b gives a share near b): the bundled model's is within 0.03 on pairs 1 and 2 (checked
    here first) and off by up to 0.33 on pairs 0, 3, 4, 5 at a constant knob as well (docs/host.md,
    Balance automation) — a calibration limit of the model, not of the automation (previous
    test)."""
    m = bundled
    x, y = looped_pair(seed)
    n = m.dsp.n_frames(x.shape[1])
    for b in (0.2, 0.5, 0.8):
        whole = per_second_shares(m, process(m, x, y, b), SECONDS)
        assert abs(float(np.mean(whole)) - b) <= 0.03, (b, whole)
    knob = BalanceCurve(((0.0, 0.2), (float(SECONDS), 0.8))).frame_values(n, m.metadata.hop, SR)
    shares = per_second_shares(m, process(m, x, y, knob), SECONDS)
    t = np.arange(n) * m.metadata.hop / SR
    for s, share in enumerate(shares):
        mean = float(knob[(t >= s) & (t < s + 1)].mean())
        assert abs(share - mean) <= 0.1, (s, share, mean)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_ramp_follows_the_curve_within_0_1_with_share_calibration(
    bundled: LoadedModel, seed: int
) -> None:
    """The issue's acceptance on every pair, with the host's share calibration
    (plugin_host/share_calibration.py): the masked share rises every second and stays within
    0.1 of the curve's mean there, also on the pairs where the model's own knob is off."""
    m = bundled
    x, y = looped_pair(seed)
    n = m.dsp.n_frames(x.shape[1])
    knob = BalanceCurve(((0.0, 0.2), (float(SECONDS), 0.8))).frame_values(n, m.metadata.hop, SR)
    shares = per_second_shares(m, process(m, x, y, knob, ShareCalibrationConfig()), SECONDS)
    assert all(np.diff(shares) > 0), shares
    t = np.arange(n) * m.metadata.hop / SR
    for s, share in enumerate(shares):
        mean = float(knob[(t >= s) & (t < s + 1)].mean())
        assert abs(share - mean) <= 0.1, (s, share, mean)


@pytest.mark.parametrize("chunk", [1, 5, 64])
def test_chunked_equals_whole_with_share_calibration(model: LoadedModel, chunk: int) -> None:
    x, y = click_track(2.2), chord(2.2)
    knob = ramp(model, x.shape[1])
    cal = ShareCalibrationConfig()
    whole = process(model, x, y, knob, cal).audio
    assert not np.allclose(whole, process(model, x, y, knob).audio, atol=1e-3)  # it acts
    got = process_chunked(model, x, y, knob, chunk_frames=chunk, feed_samples=777,
                          calibration=cal)  # fmt: skip
    np.testing.assert_allclose(got, whole, atol=CHUNK_TOL, rtol=0)
