"""FolderPairs on real files written in a temp folder: formats, rates, channel counts,
short files, unreadable files, empty folders."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from pedalboard.io import AudioFile

from training.data.folder import FolderPairs

SR = 44100


def _sine(freq: float, seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    """float32 [channels, T]; channel c at freq·(c + 1) Hz, so channels are told apart."""
    t = np.arange(round(seconds * rate)) / rate
    return np.stack([0.5 * np.sin(2 * np.pi * freq * (c + 1) * t) for c in range(channels)]).astype(
        np.float32
    )


def _write(path: Path, audio: np.ndarray, rate: int) -> Path:
    with AudioFile(
        str(path), "w", rate, audio.shape[0], bit_depth=32 if path.suffix == ".wav" else 24
    ) as f:
        f.write(audio)
    return path


def _peak_hz(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1.0 / rate)[np.argmax(spec)])


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """inputs: a.wav (44.1 kHz stereo 1 s, 500 Hz), b.flac (22.05 kHz mono 1 s, 700 Hz),
    c.wav (48 kHz, 6 channels 1 s, 300 Hz × channel), bad.wav (garbage), notes.txt;
    targets: t.flac (32 kHz stereo 2 s, 440 Hz)."""
    inp, tgt = tmp_path / "in", tmp_path / "tg"
    inp.mkdir()
    tgt.mkdir()
    _write(inp / "a.wav", _sine(500, 1.0, SR, 2), SR)
    _write(inp / "b.flac", _sine(700, 1.0, 22050, 1), 22050)
    _write(inp / "c.wav", _sine(300, 1.0, 48000, 6), 48000)
    (inp / "bad.wav").write_bytes(b"RIFF\x00\x01garbage, not audio" * 20)
    (inp / "notes.txt").write_text("not audio, ignored by suffix")
    _write(tgt / "t.flac", _sine(440, 2.0, 32000, 2), 32000)
    return inp, tgt


def test_unreadable_files_are_skipped_and_counted(
    folders: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    inp, tgt = folders
    (inp / "bad2.flac").write_bytes(b"\x00" * 100)
    with caplog.at_level(logging.WARNING, logger="training.data.folder"):
        ds = FolderPairs(inp, tgt, crop_seconds=0.5)
    assert sorted(p.name for p, _ in ds.skipped) == ["bad.wav", "bad2.flac"]
    assert all(reason for _, reason in ds.skipped)
    assert len([r for r in caplog.records if "skipping" in r.getMessage()]) == 1  # logged once
    assert [p.name for p, _ in ds.inputs] == ["a.wav", "b.flac", "c.wav"]
    assert len(ds) == 3  # the larger file count by default


def test_items_shape_resampling_and_channels(folders: tuple[Path, Path]) -> None:
    inp, tgt = folders
    ds = FolderPairs(inp, tgt, sample_rate=SR, channels=2, crop_seconds=0.5, n_items=3, seed=1)
    t = round(0.5 * SR)
    a, b, c = (ds[i] for i in range(3))  # input file i % 3: a.wav, b.flac, c.wav
    for item in (a, b, c):
        assert set(item) == {"input", "target"}
        for v in item.values():
            assert v.shape == (2, t) and v.dtype == torch.float32
    # resampled to 44.1 kHz, pitch kept (bin width 2 Hz for 0.5 s)
    assert abs(_peak_hz(b["input"][0].numpy(), SR) - 700) <= 4
    assert abs(_peak_hz(a["target"][0].numpy(), SR) - 440) <= 4
    # mono duplicated to both channels
    torch.testing.assert_close(b["input"][0], b["input"][1], rtol=0, atol=0)
    # six channels: the first two kept (300 Hz left, 600 Hz right)
    assert abs(_peak_hz(c["input"][0].numpy(), SR) - 300) <= 4
    assert abs(_peak_hz(c["input"][1].numpy(), SR) - 600) <= 4


def test_mono_output_and_determinism(folders: tuple[Path, Path]) -> None:
    inp, tgt = folders
    ds = FolderPairs(inp, tgt, sample_rate=22050, channels=1, crop_seconds=0.3, n_items=4, seed=3)
    first = [ds[i] for i in range(4)]
    assert all(item["input"].shape == (1, round(0.3 * 22050)) for item in first)
    again = ds[2]
    assert torch.equal(again["input"], first[2]["input"])
    assert torch.equal(again["target"], first[2]["target"])
    other = FolderPairs(
        inp, tgt, sample_rate=22050, channels=1, crop_seconds=0.3, n_items=4, seed=4
    )
    # different seed, different crops (the 2 s target leaves room for many offsets)
    assert any(not torch.equal(other[i]["target"], first[i]["target"]) for i in range(4))


def test_short_file_is_looped(tmp_path: Path) -> None:
    inp, tgt = tmp_path / "in", tmp_path / "tg"
    inp.mkdir()
    tgt.mkdir()
    n = 1000  # 1000 samples of ramp, read back exactly (32-bit float WAV, no resampling)
    ramp = np.linspace(-0.5, 0.5, n, dtype=np.float32)[None]
    _write(inp / "short.wav", ramp, SR)
    _write(tgt / "long.wav", _sine(440, 1.0, SR, 2), SR)
    ds = FolderPairs(inp, tgt, sample_rate=SR, crop_seconds=2500 / SR, n_items=1)
    x = ds[0]["input"].numpy()
    assert x.shape == (2, 2500)
    np.testing.assert_array_equal(x[0, :n], ramp[0])
    np.testing.assert_array_equal(x[0, n : 2 * n], ramp[0])
    np.testing.assert_array_equal(x[0, 2 * n :], ramp[0, : 2500 - 2 * n])


def test_file_vanishing_after_scan_is_skipped(folders: tuple[Path, Path]) -> None:
    inp, tgt = folders
    ds = FolderPairs(inp, tgt, crop_seconds=0.2, n_items=3)
    (inp / "a.wav").unlink()
    item = ds[0]  # a.wav gone: the next input file (b.flac) stands in
    assert item["input"].shape == (2, round(0.2 * SR))
    assert any(p.name == "a.wav" for p, _ in ds.skipped)


def test_empty_and_missing_folders_are_clear_errors(
    tmp_path: Path, folders: tuple[Path, Path]
) -> None:
    inp, tgt = folders
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"target_dir .*empty.* no readable audio"):
        FolderPairs(inp, empty)
    only_bad = tmp_path / "only_bad"
    only_bad.mkdir()
    (only_bad / "x.wav").write_bytes(b"nope")
    with pytest.raises(ValueError, match=r"input_dir .*only_bad.* no readable audio .*1 skipped"):
        FolderPairs(only_bad, tgt)
    with pytest.raises(ValueError, match=r"input_dir .*missing.* not a directory"):
        FolderPairs(tmp_path / "missing", tgt)
    with pytest.raises(ValueError, match="channels"):
        FolderPairs(inp, tgt, channels=6)


def test_demo_data_folder_read_with_globs(tmp_path: Path) -> None:
    """One folder holding input_*.wav and target_*.wav (the demo-data layout)."""
    _write(tmp_path / "input_000.wav", _sine(500, 0.5, SR, 2), SR)
    _write(tmp_path / "target_000.wav", _sine(440, 0.5, SR, 2), SR)
    ds = FolderPairs(
        tmp_path, tmp_path, crop_seconds=0.25, input_glob="input_*", target_glob="target_*"
    )
    assert [p.name for p, _ in ds.inputs] == ["input_000.wav"]
    assert [p.name for p, _ in ds.targets] == ["target_000.wav"]
    item = ds[0]
    assert abs(_peak_hz(item["input"][0].numpy(), SR) - 500) <= 8
    assert abs(_peak_hz(item["target"][0].numpy(), SR) - 440) <= 8
