"""``creative-agent diagnose``: the seed's quick test on a tiny checkpoint and real WAVs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from pedalboard.io import AudioFile

from model import CreativeAgent
from tests.helpers import chord, click_track, make_tiny_agent
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


def test_bad_inputs_exit_1_with_one_line(
    tmp_path: Path, clips: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    inp, tgt = clips
    ckpt = save_checkpoint(tmp_path / "m.pt", make_tiny_agent())
    code, out, err = run(
        [str(ckpt), "--input", str(tmp_path / "nope.wav"), "--target", str(tgt)], capsys
    )
    assert code == 1 and out == "" and "nope.wav: audio file not found" in err
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....not audio")
    code, _, err = run([str(ckpt), "--input", str(broken), "--target", str(tgt)], capsys)
    assert code == 1 and "broken.wav: cannot read audio" in err
    bad_ckpt = tmp_path / "bad.pt"
    bad_ckpt.write_text("garbage")
    code, _, err = run([str(bad_ckpt), "--input", str(inp), "--target", str(tgt)], capsys)
    assert code == 1 and "bad.pt: not a readable checkpoint" in err
    assert err.strip().count("\n") == 0


def test_balance_out_of_range_is_a_usage_error(
    tmp_path: Path, clips: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    inp, tgt = clips
    ckpt = save_checkpoint(tmp_path / "m.pt", make_tiny_agent())
    with pytest.raises(SystemExit) as exc:
        main([str(ckpt), "--input", str(inp), "--target", str(tgt), "--balance", "2"])
    assert exc.value.code == 2  # argparse's usage error, as every subcommand
    assert "--balance must be in [0, 1], got 2.0" in capsys.readouterr().err


def test_output_never_replaces_an_input_or_the_checkpoint(
    tmp_path: Path, clips: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 11 item 1: ``--output in.wav`` replaced the input; now refused, even with
    ``--overwrite``, by any spelling of the path (relative, ``..``, a hard link)."""
    inp, tgt = clips
    ckpt = save_checkpoint(tmp_path / "m.pt", make_tiny_agent())
    originals = {p: p.read_bytes() for p in (inp, tgt, ckpt)}
    link = tmp_path / "link.wav"
    link.hardlink_to(inp)
    aliases = {
        str(inp): "input",
        str(tmp_path / "sub" / ".." / "input.wav"): "input",
        str(link): "input",
        str(tgt): "target",
    }
    (tmp_path / "sub").mkdir()
    for out_arg, what in aliases.items():
        for extra in ([], ["--overwrite"]):
            code, out, err = run(
                [str(ckpt), "--input", str(inp), "--target", str(tgt), "--output", out_arg, *extra],
                capsys,
            )
            assert code == 1 and out == ""
            assert err == (
                f"creative-agent diagnose: output {out_arg}: same file as the {what}; "
                "refusing to overwrite it\n"
            )
    # the checkpoint itself (named with a writable extension through a symlink)
    ck_link = tmp_path / "ckpt.wav"
    ck_link.symlink_to(ckpt)
    code, _, err = run(
        [str(ckpt), "--input", str(inp), "--target", str(tgt), "--output", str(ck_link)], capsys
    )
    assert code == 1 and "same file as the checkpoint" in err
    assert {p: p.read_bytes() for p in originals} == originals


def test_existing_output_needs_overwrite(
    tmp_path: Path, clips: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    inp, tgt = clips
    ckpt = save_checkpoint(tmp_path / "m.pt", make_tiny_agent())
    out_wav = tmp_path / "out.wav"
    out_wav.write_bytes(b"keep me")
    argv = [str(ckpt), "--input", str(inp), "--target", str(tgt), "--output", str(out_wav)]
    code, out, err = run(argv, capsys)
    assert code == 1 and out == "" and out_wav.read_bytes() == b"keep me"
    assert err == (
        f"creative-agent diagnose: output {out_wav}: exists (pass --overwrite to replace it)\n"
    )
    code, _, _ = run([*argv, "--overwrite"], capsys)
    assert code == 0
    with AudioFile(str(out_wav)) as f:
        assert f.samplerate == 44100 and f.frames == 44100
    # the umask decides the mode, as for every file the project writes (not mkstemp's 0600)
    assert out_wav.stat().st_mode & 0o777 == 0o666 & ~current_umask()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("ext", "frames"),
    # MP3 frames come back padded to whole 1152-sample frames plus the encoder delay
    # (see docs/host.md); the others exactly
    [("wav", 44100), ("flac", 44100), ("aiff", 44100), ("ogg", 44100), ("mp3", None)],
)
def test_output_format_follows_the_extension(
    tmp_path: Path,
    clips: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    ext: str,
    frames: int | None,
) -> None:
    inp, tgt = clips
    ckpt = save_checkpoint(tmp_path / "m.pt", make_tiny_agent())
    out_file = tmp_path / f"out.{ext.upper() if ext == 'flac' else ext}"
    code, out, _ = run(
        [str(ckpt), "--input", str(inp), "--target", str(tgt), "--output", str(out_file), "--json"],
        capsys,
    )
    assert code == 0 and json.loads(out)["output"] == str(out_file)
    magic = {"wav": b"RIFF", "flac": b"fLaC", "aiff": b"FORM", "ogg": b"OggS"}
    head = out_file.read_bytes()[:4]
    if ext == "mp3":  # an ID3 tag or an MPEG frame sync, never a RIFF header
        assert head[:3] == b"ID3" or (head[0] == 0xFF and head[1] & 0xE0 == 0xE0)
    else:
        assert head == magic[ext]
    with AudioFile(str(out_file)) as f:
        assert f.samplerate == 44100 and f.num_channels == 2
        if frames is not None:
            assert f.frames == frames
        else:
            assert f.frames >= 44100


def test_unwritable_extension_is_refused_before_any_work(
    tmp_path: Path, clips: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    inp, tgt = clips
    bad_ckpt = tmp_path / "bad.pt"
    bad_ckpt.write_text("garbage")  # not read: the output is checked first
    out_file = tmp_path / "out.m4a"
    code, out, err = run(
        [str(bad_ckpt), "--input", str(inp), "--target", str(tgt), "--output", str(out_file)],
        capsys,
    )
    assert code == 1 and out == "" and not out_file.exists()
    assert err == (
        f"creative-agent diagnose: output {out_file}: cannot write .m4a; "
        "use one of .wav, .flac, .aiff, .ogg, .mp3\n"
    )


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
