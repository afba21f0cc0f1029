"""What a render leaves on disk, with a real ORT session on the tiny model and real files:
file modes from the umask, all-or-nothing outputs, created folders, integer sample rates,
the output gain, silent sources and MP3's encoder delay."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from pedalboard.io import AudioFile

from plugin_host import RenderError, render
from plugin_host.audio_io import probe
from plugin_host.levels import SILENT_BELOW_DB, level_db, mean_power
from plugin_host.paths import AllowedRoots
from plugin_host.pipeline import process
from plugin_host.runtime import LoadedModel, load_model
from plugin_host.share_calibration import ShareCalibrationConfig
from tests.helpers import chord, click_track

# Chunked streaming vs one whole pass: float32 rounding of FFT batches and overlap-add
# order (measured <= 2.1e-7 on signals peaking ~0.9; tests/test_host_render.py).
CHUNK_TOL = 1e-5


@pytest.fixture(scope="module")
def model(tiny_onnx: Path) -> LoadedModel:
    return load_model(tiny_onnx, provider="cpu")


def write(path: Path, x: np.ndarray, sr: int = 44100) -> Path:
    with AudioFile(str(path), "w", sr, x.shape[0], bit_depth=32) as f:
        f.write(np.ascontiguousarray(x, np.float32))
    return path


def read(path: Path) -> np.ndarray:
    with AudioFile(str(path)) as f:
        return f.read(f.frames)


def pair(folder: Path, seconds: float = 1.0) -> tuple[Path, Path]:
    return (
        write(folder / "x.wav", click_track(seconds)),
        write(folder / "y.wav", chord(seconds / 2)),
    )


# ----------------------------------------------------------------- modes and folders
@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_every_output_gets_its_mode_from_the_umask(model, tmp_path: Path, umask: int):
    """Audio, report and plot alike: 0o666 & ~umask (the report was 0o600 before)."""
    x_path, y_path = pair(tmp_path)
    old = os.umask(umask)
    try:
        render(x_path, y_path, model, tmp_path / "o.wav", report_path=tmp_path / "o.wav.json",
               plot_path=tmp_path / "o.wav.png")  # fmt: skip
    finally:
        os.umask(old)
    modes = {p: (tmp_path / p).stat().st_mode & 0o777 for p in ("o.wav", "o.wav.json", "o.wav.png")}
    assert modes == dict.fromkeys(modes, 0o666 & ~umask)


def test_a_missing_output_folder_is_created(model, tmp_path: Path):
    x_path, y_path = pair(tmp_path)
    rep = render(x_path, y_path, model, tmp_path / "a" / "b" / "o.wav",
                 report_path=tmp_path / "r" / "o.json")  # fmt: skip
    assert (tmp_path / "a" / "b" / "o.wav").is_file() and (tmp_path / "r" / "o.json").is_file()
    assert rep["output"] == str(tmp_path / "a" / "b" / "o.wav")
    # inside the allowed roots too; outside them, a one-line error and no folder
    roots = AllowedRoots([tmp_path])
    render(x_path, y_path, model, tmp_path / "c" / "o.wav", allow_roots=roots)
    assert (tmp_path / "c" / "o.wav").is_file()
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    with pytest.raises(RenderError, match=r"^output .*-outside/o\.wav: outside the allowed roots$"):
        render(x_path, y_path, model, outside / "o.wav", allow_roots=roots)
    assert not outside.exists()


def test_a_failed_render_removes_the_folder_it_created(model, tmp_path: Path):
    x = click_track(4.0)
    x[0, 3 * 44100] = np.nan  # found after several blocks were written
    x_path = write(tmp_path / "x.wav", x)
    y_path = write(tmp_path / "y.wav", chord(1.0))
    with pytest.raises(RenderError, match="NaN or Inf sample"):
        render(x_path, y_path, model, tmp_path / "new" / "o.wav",
               report_path=tmp_path / "new" / "o.json")  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.wav", "y.wav"]


def test_a_file_created_during_the_render_is_not_replaced(model, tmp_path: Path):
    """Without overwrite, the final link refuses a file that appeared meanwhile: the
    render fails with one line, that file is untouched, and no report appears."""
    x_path, y_path = pair(tmp_path, seconds=4.0)
    out = tmp_path / "o.wav"

    def someone_else_writes(fraction: float) -> None:
        if not out.exists():
            out.write_bytes(b"theirs")

    with pytest.raises(RenderError, match=r"o\.wav: created by someone else during the render"):
        render(x_path, y_path, model, out, report_path=tmp_path / "o.json",
               progress=someone_else_writes)  # fmt: skip
    assert out.read_bytes() == b"theirs" and not (tmp_path / "o.json").exists()


def test_report_sample_rates_are_integers(model, tmp_path: Path):
    x_path = write(tmp_path / "x.wav", click_track(1.0, sr=48000), 48000)
    y_path = write(tmp_path / "y.wav", chord(0.5, sr=22050), 22050)
    render(x_path, y_path, model, tmp_path / "o.wav", report_path=tmp_path / "o.json")
    rep = json.loads((tmp_path / "o.json").read_text())
    rates = {**rep["sample_rates"], "model.sample_rate": rep["model"]["sample_rate"]}
    assert rates == {"input": 48000, "target": 22050, "model": 44100, "output": 48000,
                     "model.sample_rate": 44100}  # fmt: skip
    assert all(type(v) is int for v in rates.values()), rates


# ----------------------------------------------------------------- output gain
def test_output_gain_is_a_final_gain_after_the_output_chain(model, tmp_path: Path):
    x_path, y_path = pair(tmp_path)
    chain = {"output_chain": [{"plugin": "Limiter", "params": {"threshold_db": -6.0}}]}
    plain = render(x_path, y_path, model, tmp_path / "a.wav", chain=chain)
    quiet = render(x_path, y_path, model, tmp_path / "b.wav", chain=chain, output_gain_db=-12.0)
    a, b = read(tmp_path / "a.wav"), read(tmp_path / "b.wav")
    # float32 products of the same samples: within one rounding step of a ~0.5 peak
    np.testing.assert_allclose(b, a * 10 ** (-12 / 20), atol=1e-6, rtol=0)
    assert plain["output_gain_db"] == 0.0 and quiet["output_gain_db"] == -12.0
    # the report measures the agent before the output chain: the gain does not move it
    assert quiet["output_input_corr"] == plain["output_input_corr"]
    for bad, message in ((30.0, r"output_gain_db 30\.0: must be in \[-96, 24\] dB"),
                         ("loud", "output_gain_db 'loud': not a number")):  # fmt: skip
        with pytest.raises(RenderError, match=message):
            render(x_path, y_path, model, tmp_path / "c.wav", output_gain_db=bad)  # type: ignore[arg-type]


# ----------------------------------------------------------------- silent sources
def test_a_silent_target_lets_the_input_through(model, tmp_path: Path, caplog):
    x = click_track(2.0)
    x_path = write(tmp_path / "x.wav", x)
    y_path = write(tmp_path / "y.wav", np.zeros((2, 44100), np.float32))
    rep = render(x_path, y_path, model, tmp_path / "o.wav")
    # masks 1/0 through the same STFT and overlap-add: the input to float32 rounding
    np.testing.assert_allclose(read(tmp_path / "o.wav"), x, atol=CHUNK_TOL, rtol=0)
    assert rep["warnings"] == [
        f"target {y_path} is digital silence: the input passes through at its own level"
    ]
    assert rep["warnings"][0] in caplog.text


def test_a_near_silent_input_lets_the_target_through(model, tmp_path: Path):
    x = 1e-3 * click_track(2.0)  # 60 dB down
    y = chord(2.0)
    gap = level_db(mean_power(probe(write(tmp_path / "y.wav", y)))) - level_db(
        mean_power(probe(write(tmp_path / "x.wav", x)))
    )
    assert gap > SILENT_BELOW_DB
    rep = render(tmp_path / "x.wav", tmp_path / "y.wav", model, tmp_path / "o.wav")
    np.testing.assert_allclose(read(tmp_path / "o.wav"), y, atol=CHUNK_TOL, rtol=0)
    assert len(rep["warnings"]) == 1
    assert f"input {tmp_path / 'x.wav'} is {gap:.1f} dB below the target" in rep["warnings"][0]


def test_a_quiet_but_audible_pair_renders_exactly_as_before(model, tmp_path: Path):
    """35 dB apart (under the 40 dB limit): the agent mixes as usual, no warning."""
    x, y = click_track(2.0), chord(2.0)
    level = {
        k: level_db(float((v.astype(np.float64) ** 2).mean())) for k, v in (("x", x), ("y", y))
    }
    y = (y * 10 ** ((level["x"] - 35.0 - level["y"]) / 20)).astype(np.float32)
    rep = render(write(tmp_path / "x.wav", x), write(tmp_path / "y.wav", y), model,
                 tmp_path / "o.wav")  # fmt: skip
    assert rep["warnings"] == []
    whole = process(model, x, y, 0.5, ShareCalibrationConfig()).audio  # render's default
    np.testing.assert_allclose(read(tmp_path / "o.wav"), whole, atol=CHUNK_TOL, rtol=0)
    assert not np.allclose(whole, x, atol=1e-3)  # the agent did change the input


# ----------------------------------------------------------------- MP3
def lame_gapless(path: Path) -> tuple[int, int, int]:
    """(encoder delay, padding, MPEG frames) from the file's Xing/Info + LAME header."""
    data = path.read_bytes()[:4096]
    info = data.find(b"Info") if b"Info" in data else data.find(b"Xing")
    assert info > 0, "no Xing/Info header"
    flags = int.from_bytes(data[info + 4 : info + 8], "big")
    assert flags & 1, "Info header has no frame count"
    frames = int.from_bytes(data[info + 8 : info + 12], "big")
    lame = data.find(b"LAME", info)
    b = data[lame + 21 : lame + 24]
    return (b[0] << 4) | (b[1] >> 4), ((b[1] & 0x0F) << 8) | b[2], frames


def test_mp3_round_trip_is_exact_in_the_host(model, tmp_path: Path):
    """An MP3 holds the render exactly in its LAME gapless header; the host reads it back
    at the exact length, on time (as gapless decoders such as most DAWs do), while
    pedalboard's own reader ignores the header: 1105 samples (576 encoder + 529 decoder
    delay; 25 ms at 44.1 kHz) late, padded to whole 1152-sample frames (docs/host.md)."""
    x = np.zeros((2, 2 * 44100), np.float32)
    x[:, 44100] = 0.9  # one click at 1.000 s
    x_path = write(tmp_path / "x.wav", x)
    y_path = write(tmp_path / "y.wav", np.zeros((2, 44100), np.float32))  # silent: x passes
    render(x_path, y_path, model, tmp_path / "o.mp3")
    delay, padding, frames = lame_gapless(tmp_path / "o.mp3")
    assert delay == 576 and frames * 1152 - delay - padding == 2 * 44100
    raw = read(tmp_path / "o.mp3")  # pedalboard alone
    assert raw.shape[1] == frames * 1152
    assert int(np.argmax(np.abs(raw[0]))) == 44100 + 576 + 529
    info = probe(tmp_path / "o.mp3")  # the host
    assert (info.frames, info.start) == (2 * 44100, 576 + 529)
    # rendered again as an input (the MP3 passes through: silent target): on the grid
    render(tmp_path / "o.mp3", y_path, model, tmp_path / "again.wav")
    again = read(tmp_path / "again.wav")
    assert again.shape == (2, 2 * 44100) and int(np.argmax(np.abs(again[0]))) == 44100
