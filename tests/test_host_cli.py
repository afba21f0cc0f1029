"""``creative-agent render`` and ``render-batch`` run as real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pedalboard.io import AudioFile

from tests.helpers import chord, click_track


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plugin_host.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write(path: Path, x: np.ndarray, sr: int = 44100) -> None:
    with AudioFile(str(path), "w", sr, x.shape[0], bit_depth=32) as f:
        f.write(x)


@pytest.fixture
def clips(tmp_path: Path) -> Path:
    write(tmp_path / "drums.wav", click_track(1.5))
    write(tmp_path / "keys.wav", chord(0.5, channels=1), 48000)
    return tmp_path


def test_render_prints_one_line_and_writes_the_report_beside(clips: Path, tiny_onnx: Path):
    chain = {"output_chain": [{"plugin": "Compressor", "params": {"threshold_db": -20}}]}
    (clips / "chain.json").write_text(json.dumps(chain))
    done = cli("render", "--input", "drums.wav", "--target", "keys.wav", "--model",
               str(tiny_onnx), "-o", "mix.wav", "--chain", "chain.json", "--balance", "0.7",
               "--plot", "mix.png", cwd=clips)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mix.wav: ") and "corr in" in lines[0]
    report = json.loads((clips / "mix.wav.json").read_text())
    assert report["balance"] == 0.7 and report["chain"]["output_chain"][0]["plugin"] == "Compressor"
    assert report["report_path"] == "mix.wav.json" and (clips / "mix.png").stat().st_size > 1000
    # --json: the report on stdout; an existing output needs --overwrite
    again = cli("render", "--input", "drums.wav", "--target", "keys.wav", "--model",
                str(tiny_onnx), "-o", "mix.wav", "--json", cwd=clips)  # fmt: skip
    assert again.returncode == 1 and "exists (pass overwrite / --overwrite" in again.stderr
    again = cli("render", "--input", "drums.wav", "--target", "keys.wav", "--model",
                str(tiny_onnx), "-o", "mix.wav", "--json", "--overwrite", "--no-report",
                cwd=clips)  # fmt: skip
    assert again.returncode == 0 and json.loads(again.stdout)["report_path"] is None


def test_render_error_is_one_line_and_writes_nothing(clips: Path, tiny_onnx: Path):
    (clips / "chain.json").write_text(json.dumps({"input_chain": [{"plugin": "Flanger"}]}))
    before = sorted(p.name for p in clips.iterdir())
    done = cli("render", "--input", "drums.wav", "--target", "keys.wav", "--model",
               str(tiny_onnx), "-o", "mix.wav", "--chain", "chain.json", cwd=clips)  # fmt: skip
    assert done.returncode == 1 and done.stdout == ""
    err = [ln for ln in done.stderr.splitlines() if ln.startswith("creative-agent render:")]
    assert len(err) == 1 and "unknown plugin 'Flanger'; valid: Bitcrush" in err[0]
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in clips.iterdir()) == before


def test_render_batch_reports_bad_rows_and_renders_the_rest(clips: Path, tiny_onnx: Path):
    (clips / "manifest.csv").write_text(
        "input,target,output,balance,fit\n"
        "drums.wav,keys.wav,out/a.wav,0.3,\n"
        "missing.wav,keys.wav,out/b.wav,,\n"
        "drums.wav,keys.wav,out/c.wav,lots,\n"
        "drums.wav,keys.wav,out/d.flac,,trim\n"
        "drums.wav,keys.wav,out/a.wav,,\n"
    )
    (clips / "out").mkdir()
    done = cli("render-batch", "manifest.csv", "--model", str(tiny_onnx), "--workers", "2",
               "--summary", "summary.json", cwd=clips)  # fmt: skip
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "2 of 5 rendered, 3 failed" in out
    assert "missing.wav: file not found" in out
    assert "line 4: balance 'lots' is not a number" in out
    assert "line 6: output out/a.wav already written by line 2" in out
    assert sorted(p.name for p in (clips / "out").iterdir()) == [
        "a.wav",
        "a.wav.json",
        "d.flac",
        "d.flac.json",
    ]
    assert json.loads((clips / "out" / "a.wav.json").read_text())["balance"] == 0.3
    summary = json.loads((clips / "summary.json").read_text())
    assert [isinstance(r["result"], dict) for r in summary["rows"]] == [
        True,
        False,
        False,
        True,
        False,
    ]


def test_render_batch_manifest_errors(clips: Path, tiny_onnx: Path):
    (clips / "m.csv").write_text("in,target,output\n")
    done = cli("render-batch", "m.csv", "--model", str(tiny_onnx), cwd=clips)
    assert done.returncode == 1 and "header must name input, target, output" in done.stderr
