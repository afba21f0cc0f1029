"""``creative-agent diagnose``: the seed's quick test on a tiny checkpoint and real WAVs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_tiny_agent
from pedalboard.io import AudioFile
from signals import chord, click_track

from model import CreativeAgent
from training.checkpoint import save_checkpoint
from training.diagnose import VERDICT_LINES, main


def write_wav(path: Path, audio: np.ndarray, sr: int) -> Path:
    with AudioFile(str(path), "w", sr, audio.shape[0]) as f:
        f.write(audio)
    return path


@pytest.fixture
def clips(tmp_path: Path) -> tuple[Path, Path]:
    # the input at 22.05 kHz (diagnose resamples it to the model's 44.1 kHz); the target
    # longer than the input (trimmed to it)
    inp = write_wav(tmp_path / "input.wav", click_track(1.0, sr=22050, bpm=240), 22050)
    tgt = write_wav(tmp_path / "target.wav", chord(1.5, sr=44100), 44100)
    return inp, tgt


def biased_agent(input_logit: float, target_logit: float) -> CreativeAgent:
    """A tiny agent whose masks are constant: sigmoid(input_logit), sigmoid(target_logit)."""
    agent = make_tiny_agent()
    k = agent.config.n_bands
    bias = agent.core.out.bias
    assert bias is not None
    with torch.no_grad():
        agent.core.out.weight.zero_()
        bias[:k] = input_logit
        bias[k:] = target_logit
    return agent


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_text_report_matches_an_independent_computation(
    tmp_path: Path, clips: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    agent = make_tiny_agent()
    ckpt = save_checkpoint(tmp_path / "best_model.pt", agent)
    inp, tgt = clips
    code, out, _ = run([str(ckpt), "--input", str(inp), "--target", str(tgt)], capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("Output→Input: ") and lines[1].startswith("Output→Target: ")
    assert lines[2] in VERDICT_LINES.values()

    # the seed's snippet, done here by hand: resample, run, np.corrcoef of flattened audio
    with AudioFile(str(inp)) as f, f.resampled_to(44100.0) as r:
        x = r.read(r.frames)
    with AudioFile(str(tgt)) as f:
        y = f.read(f.frames)[:, : x.shape[1]]
    out_audio = agent.inference(torch.from_numpy(x), torch.from_numpy(y)).numpy()
    ri = np.corrcoef(out_audio.reshape(-1), x.reshape(-1))[0, 1]
    rt = np.corrcoef(out_audio.reshape(-1), y.reshape(-1))[0, 1]
    assert lines[0] == f"Output→Input: {ri:.3f}"
    assert lines[1] == f"Output→Target: {rt:.3f}"


def test_copying_target_checkpoint_confirms_the_seed_problem(
    tmp_path: Path, clips: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = save_checkpoint(tmp_path / "copy.pt", biased_agent(-12.0, 12.0))
    inp, tgt = clips
    code, out, _ = run([str(ckpt), "--input", str(inp), "--target", str(tgt)], capsys)
    assert code == 0  # a verdict is not an error
    assert "❌ PROBLEM CONFIRMED: Output copying target" in out.splitlines()
    code, out, _ = run([str(ckpt), "--input", str(inp), "--target", str(tgt), "--json"], capsys)
    rep = json.loads(out)
    assert code == 0 and rep["verdict"] == "copying_target"
    assert rep["output_target_corr"] > 0.99 and abs(rep["output_input_corr"]) < 0.2
    assert rep["meets_seed_criteria"] is False and rep["sample_rate"] == 44100
    assert rep["seconds"] == pytest.approx(1.0)


def test_copying_input_and_mixing_verdicts(
    tmp_path: Path, clips: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    inp, tgt = clips
    copy_in = save_checkpoint(tmp_path / "in.pt", biased_agent(12.0, -12.0))
    _, out, _ = run([str(copy_in), "--input", str(inp), "--target", str(tgt), "--json"], capsys)
    assert json.loads(out)["verdict"] == "copying_input"
    _, out, _ = run([str(copy_in), "--input", str(inp), "--target", str(tgt)], capsys)
    assert VERDICT_LINES["copying_input"] in out
    # both masks 1: the plain sum; equal-level clips give the seed's "mixing"
    both = save_checkpoint(tmp_path / "sum.pt", biased_agent(12.0, 12.0))
    out_wav = tmp_path / "out" / "mix.wav"
    code, out, _ = run(
        [str(both), "--input", str(inp), "--target", str(tgt), "--output", str(out_wav)], capsys
    )
    assert code == 0 and "✓ Output mixing both sources" in out
    with AudioFile(str(out_wav)) as f:
        assert f.samplerate == 44100 and f.num_channels == 2 and f.frames == 44100


def test_bad_inputs_exit_2_with_one_line(
    tmp_path: Path, clips: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    inp, tgt = clips
    ckpt = save_checkpoint(tmp_path / "m.pt", make_tiny_agent())
    code, out, err = run(
        [str(ckpt), "--input", str(tmp_path / "nope.wav"), "--target", str(tgt)], capsys
    )
    assert code == 2 and out == "" and "nope.wav: audio file not found" in err
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....not audio")
    code, _, err = run([str(ckpt), "--input", str(broken), "--target", str(tgt)], capsys)
    assert code == 2 and "broken.wav: cannot read audio" in err
    bad_ckpt = tmp_path / "bad.pt"
    bad_ckpt.write_text("garbage")
    code, _, err = run([str(bad_ckpt), "--input", str(inp), "--target", str(tgt)], capsys)
    assert code == 2 and "bad.pt: not a readable checkpoint" in err
    assert err.strip().count("\n") == 0
