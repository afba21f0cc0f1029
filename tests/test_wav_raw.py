"""32-bit float and 16-bit PCM WAVs read as stored (no decode): the level pre-pass gets the
mean power pedalboard's decoded samples give, the render's reader the same float samples
bit for bit; any other file is decoded."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pedalboard.io import AudioFile

from plugin_host.audio_io import SourceReader, probe
from plugin_host.levels import check_sources, decoded_mean_power, mean_power
from plugin_host.wav_raw import RawWav

# float32 dot products of 64k-value blocks (raw) vs 64k-frame blocks (decoded), summed in
# float64: the same squares, other groupings
REL = 1e-6


def _signal(channels: int, n: int = 30_001) -> np.ndarray:
    rng = np.random.default_rng(channels)
    return (0.4 * rng.standard_normal((channels, n))).clip(-1, 1).astype(np.float32)


def _write(path: Path, x: np.ndarray, bit_depth: int) -> Path:
    with AudioFile(str(path), "w", 44100, x.shape[0], bit_depth=bit_depth) as f:
        f.write(x)
    return path


def _riff(fmt: bytes, data: bytes, extra: bytes = b"") -> bytes:
    """A WAV built by hand: ``extra`` chunks before ``fmt `` and ``data``."""
    body = b"WAVE" + extra + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize(("channels", "bits"), [(2, 32), (1, 32), (2, 16), (1, 16)])
def test_float32_and_pcm16_wavs_are_read_as_stored(tmp_path: Path, channels: int, bits: int):
    path = _write(tmp_path / "x.wav", _signal(channels), bits)
    info = probe(path)
    assert RawWav.of(info) is not None
    assert mean_power(info) == pytest.approx(decoded_mean_power(info), rel=REL)
    assert mean_power(info) > 0.1  # a real signal, not zeros


def test_long_wavs_in_blocks_on_one_or_two_threads(tmp_path: Path):
    """Several read blocks and a partial last one; the two files read at once give what
    reading them in turn gives."""
    a = _write(tmp_path / "a.wav", _signal(2, 100_001), 32)  # 200k values: 4 blocks
    b = _write(tmp_path / "b.wav", 0.01 * _signal(1, 70_000), 16)
    info_a, info_b = probe(a), probe(b)
    assert mean_power(info_a) == pytest.approx(decoded_mean_power(info_a), rel=REL)
    assert check_sources(info_a, info_b, parallel=True) == check_sources(
        info_a, info_b, parallel=False
    )


@pytest.mark.parametrize("name", ["x24.wav", "x.flac"])
def test_other_files_are_decoded(tmp_path: Path, name: str):
    path = _write(tmp_path / name, _signal(2), 24)
    info = probe(path)
    assert RawWav.of(info) is None
    assert mean_power(info) == decoded_mean_power(info)


def test_hand_made_wavs_extra_chunks_and_extensible(tmp_path: Path):
    """An odd-sized chunk before ``fmt ``, and WAVE_FORMAT_EXTENSIBLE float: read as
    stored; an extensible format whose valid bits differ from the container is decoded."""
    x = _signal(2, 1000)
    data = np.ascontiguousarray(x.T).tobytes()  # interleaved float32
    plain = struct.pack("<HHIIHH", 3, 2, 44100, 44100 * 8, 8, 32)
    guid = struct.pack("<H", 3) + bytes.fromhex("000000001000800000aa00389b71")
    ext = struct.pack("<HHIIHHHHI", 0xFFFE, 2, 44100, 44100 * 8, 8, 32, 22, 32, 3) + guid
    odd = b"LIST" + struct.pack("<I", 3) + b"abc\x00"
    want = float(np.mean(x.astype(np.float64) ** 2))
    for name, raw in (("plain.wav", _riff(plain, data, odd)), ("ext.wav", _riff(ext, data))):
        (tmp_path / name).write_bytes(raw)
        info = probe(tmp_path / name)
        assert info.frames == 1000 and RawWav.of(info) is not None, name
        assert mean_power(info) == pytest.approx(want, rel=REL)
        assert decoded_mean_power(info) == pytest.approx(want, rel=REL)
    partial = struct.pack("<HHIIHHHHI", 0xFFFE, 2, 44100, 44100 * 8, 8, 32, 22, 24, 3) + guid
    (tmp_path / "valid24.wav").write_bytes(_riff(partial, data))
    assert RawWav.of(probe(tmp_path / "valid24.wav")) is None


def test_raw_read_keeps_memory_flat(tmp_path: Path):
    """Mapped block by block: the file's pages never add up in the process's peak memory
    (a whole-file map of this 21 MB WAV would raise the peak by 21 MB). Fresh interpreter."""
    x = np.tile(_signal(2, 44100), 60)  # 60 s of stereo float: 21 MB of samples
    path = _write(tmp_path / "long.wav", x, 32)
    code = (
        "import sys\n"
        "from plugin_host.audio_io import probe\n"
        "from plugin_host.levels import mean_power\n"
        "def hwm():\n"
        "    s = open('/proc/self/status').read()\n"
        "    return int(s.split('VmHWM:')[1].split()[0])\n"
        f"info = probe({str(path)!r})\n"
        "before = hwm()\n"
        "mean_power(info)\n"
        "print(hwm() - before)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(done.stdout) < 12 * 1024, done.stdout  # KiB: two 4 MB blocks at most


@pytest.mark.parametrize(("rate", "loop"), [(44100, False), (44100, True), (48000, True)])
def test_reader_reads_float_wavs_as_pedalboard_decodes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rate: int, loop: bool
):
    """SourceReader's blocks of a float WAV, read as stored, equal pedalboard's decode bit
    for bit: straight, looped past the end, and resampled."""
    path = _write(tmp_path / "x.wav", _signal(2, 20_011), 32)
    info = probe(path)
    total = 3 * 20_011 + 7 if loop else 20_011

    def blocks() -> np.ndarray:
        reader = SourceReader(info, rate, 2, total * rate // 44100, loop=loop)
        parts = []
        while reader.position < reader.total:
            parts.append(reader.read(4097))
        reader.close()
        return np.concatenate(parts, axis=1)

    def raw_used() -> bool:
        reader = SourceReader(info, rate, 2, 10, loop=False)
        reader.close()
        return reader._raw is not None

    assert raw_used()
    fast = blocks()
    monkeypatch.setattr(RawWav, "of", classmethod(lambda cls, info: None))
    assert not raw_used()
    np.testing.assert_array_equal(fast, blocks())
    assert float(np.abs(fast).max()) > 0.1
