"""The built-in clip generator: determinism, shapes, levels, the held-out split, and that
the material is what the metrics look for (drum onsets, in-key harmony)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from pedalboard.io import AudioFile

from plugin_host.measures import band_onset_envelope
from training.data import cli as demo_data
from training.data.synth import (
    KITS,
    MODES,
    NOTE_NAMES,
    PEAK_CEILING,
    TIMBRES,
    SynthConfig,
    SynthPairs,
    generate_pair,
    generate_pair_info,
    item_seed,
    train_config,
    validation_config,
)

SHORT = dict(seconds=1.5)  # short clips keep the suite fast; the code path is the same


def _rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64)))))


def test_same_seed_same_bytes_different_seeds_differ() -> None:
    cfg = train_config(**SHORT)
    x1, y1 = generate_pair(cfg, 7)
    x2, y2 = generate_pair(cfg, 7)
    assert x1.tobytes() == x2.tobytes() and y1.tobytes() == y2.tobytes()
    x3, y3 = generate_pair(cfg, 8)
    assert not np.array_equal(x1, x3) and not np.array_equal(y1, y3)


@pytest.mark.parametrize(
    ("channels", "seconds", "rate"),
    [(2, 4.0, 44100), (1, 1.0, 22050), (2, 0.7301, 48000), (2, 0.5, 8000)],
)
def test_shapes_rates_channels_and_peak(channels: int, seconds: float, rate: int) -> None:
    cfg = SynthConfig(channels=channels, seconds=seconds, sample_rate=rate)
    x, y = generate_pair(cfg, 3)
    t = round(seconds * rate)
    for a in (x, y):
        assert a.shape == (channels, t) and a.dtype == np.float32
        assert np.isfinite(a).all()
        assert 0.0 < np.abs(a).max() <= PEAK_CEILING
    assert cfg.n_samples == t


def test_stereo_clips_are_not_dual_mono() -> None:
    x, y = generate_pair(train_config(**SHORT), 11)
    for a in (x, y):
        assert not np.allclose(a[0], a[1], atol=1e-3)


def test_loudness_varies_across_seeds_within_range() -> None:
    cfg = train_config(**SHORT)
    levels = np.array([[_rms_db(a) for a in generate_pair(cfg, s)] for s in range(8)])
    hi = cfg.gain_db_range[1]
    # at or below the drawn level (a peaky clip is turned down to PEAK_CEILING), never above;
    # 0.01 dB slack for float32 rounding
    assert (levels <= hi + 0.01).all()
    assert levels.max() - levels.min() > 4.0, levels  # spread of a 14 dB-wide range


def test_validation_settings_are_disjoint_from_training() -> None:
    tr, va = train_config(), validation_config()
    assert tr.kits and va.kits and not set(tr.kits) & set(va.kits)
    assert tr.timbres and va.timbres and not set(tr.timbres) & set(va.timbres)
    assert tr.bpm_range[1] < va.bpm_range[0]  # tempo ranges do not touch
    for role in ("chords", "bass", "arp"):  # every role has timbres on both sides
        assert any(role in TIMBRES[t] for t in tr.timbres)
        assert any(role in TIMBRES[t] for t in va.timbres)
    # and a generated pair reports only its own split's settings
    for cfg in (tr, va):
        for s in range(3):
            _, _, info = generate_pair_info(dataclasses.replace(cfg, seconds=1.0), s)
            assert info["input"]["kit"] in cfg.kits
            assert info["target"]["chord_timbre"] in cfg.timbres
            assert cfg.bpm_range[0] <= info["input"]["bpm"] <= cfg.bpm_range[1]


@pytest.mark.parametrize("kit", sorted(KITS))
def test_every_kit_renders_onsets(kit: str) -> None:
    """Each kit makes clear drum onsets: the onset envelope has peaks well above its median."""
    cfg = SynthConfig(kits=(kit,), seconds=2.0)
    x, _ = generate_pair(cfg, 1)
    spec = np.abs(np.fft.rfft(_frames(x.mean(0)), axis=-1)).T  # [F, N]
    env = band_onset_envelope(spec**2)  # one band per bin: the flux of log(1 + 100|X|)
    assert np.percentile(env, 98) > 2.0 * np.median(env)


@pytest.mark.parametrize("timbre", [t for t in sorted(TIMBRES) if "chords" in TIMBRES[t]])
def test_every_chord_timbre_is_in_key(timbre: str) -> None:
    """Harmony that chroma can see: >= 85 % of the target's energy (50 Hz–5 kHz, fine FFT
    over the whole clip) lies on the pitch classes of its key."""
    cfg = SynthConfig(timbres=(timbre,), seconds=2.0, arp_prob=0.0, bass_prob=0.0)
    _, y, info = generate_pair_info(cfg, 2)
    assert info["target"]["chord_timbre"] == timbre
    assert _in_key_share(y, cfg.sample_rate, info["target"]) >= 0.85


def test_harmony_in_key_over_many_seeds() -> None:
    for cfg in (train_config(seconds=2.0), validation_config(seconds=2.0)):
        shares = []
        for s in range(6):
            _, y, info = generate_pair_info(cfg, s)
            shares.append(_in_key_share(y, cfg.sample_rate, info["target"]))
            assert len(info["target"]["chords"]) >= 2  # a progression, not one chord
        assert np.mean(shares) >= 0.9 and min(shares) >= 0.75, shares


def test_synth_pairs_dataset_matches_generator() -> None:
    cfg = train_config(seconds=0.5)
    ds = SynthPairs(cfg, n_pairs=3, seed=5)
    assert len(ds) == 3
    item = ds[1]
    assert set(item) == {"input", "target"}
    x, y = generate_pair(cfg, item_seed(5, 1))
    assert isinstance(item["input"], torch.Tensor) and item["input"].dtype == torch.float32
    assert torch.equal(item["input"], torch.from_numpy(x))
    assert torch.equal(item["target"], torch.from_numpy(y))
    assert torch.equal(ds[-2]["input"], item["input"])
    assert not torch.equal(SynthPairs(cfg, 3, seed=6)[1]["input"], item["input"])
    with pytest.raises(IndexError):
        ds[3]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("channels", 3),
        ("sample_rate", 4000),
        ("seconds", 0.0),
        ("kits", ("acoustic", "nope")),
        ("timbres", ()),
        ("timbres", ("bass",)),  # no chord timbre
        ("bpm_range", (120.0, 90.0)),
        ("gain_db_range", (-10.0, 3.0)),
    ],
)
def test_bad_config_is_a_clear_error(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        SynthConfig(**{field: value})


def test_bad_seed_and_size() -> None:
    with pytest.raises(ValueError, match="seed"):
        generate_pair(train_config(seconds=0.1), -1)
    with pytest.raises(ValueError, match="n_pairs"):
        SynthPairs(train_config(), 0)


# --------------------------------------------------------------------------- helpers


def _frames(x: np.ndarray, n_fft: int = 1024, hop: int = 441) -> np.ndarray:
    """Hann-windowed frames [N, n_fft] of a mono signal (10 ms hop at 44.1 kHz)."""
    idx = np.arange(0, x.size - n_fft, hop)[:, None] + np.arange(n_fft)[None]
    return x[idx] * np.hanning(n_fft)


def _in_key_share(y: np.ndarray, sr: int, target: dict[str, object]) -> float:
    """Share of the energy between 50 Hz and 5 kHz on the key's pitch classes (harmonic
    minor included), from one FFT of the whole clip (resolution 1/seconds Hz)."""
    power = np.abs(np.fft.rfft(y.mean(0))) ** 2
    freqs = np.fft.rfftfreq(y.shape[-1], 1.0 / sr)
    sel = (freqs >= 50) & (freqs <= 5000)
    pcs = np.round(12 * np.log2(freqs[sel] / 440.0) + 69).astype(int) % 12
    profile = np.bincount(pcs, weights=power[sel], minlength=12)
    key = NOTE_NAMES.index(str(target["key"]))
    scale = {(key + p) % 12 for p in MODES[str(target["mode"])]}
    if target["mode"] == "minor":
        scale.add((key + 11) % 12)
    return float(profile[sorted(scale)].sum() / profile.sum())


# --------------------------------------------------------------------------- demo-data


def test_demo_data_writes_exact_pairs_and_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "new" / "demo"
    rc = demo_data.main(
        [str(out), "--pairs", "2", "--seconds", "0.3", "--seed", "3", "--split", "valid"]
    )
    assert rc == 0
    assert "wrote 2 pairs" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "input_000.wav", "input_001.wav", "manifest.json", "target_000.wav", "target_001.wav",
    ]  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["split"] == "valid" and len(manifest["items"]) == 2
    cfg = validation_config(seconds=0.3)
    for i, item in enumerate(manifest["items"]):
        assert item["seed"] == item_seed(3, i)
        x, y = generate_pair(cfg, item["seed"])
        for name, ref in (("input", x), ("target", y)):
            with AudioFile(str(out / item["files"][name])) as f:
                assert f.samplerate == 44100 and f.num_channels == 2
                np.testing.assert_array_equal(f.read(f.frames), ref)  # 32-bit float: exact
        assert item["input"]["kit"] in cfg.kits


def test_demo_data_bad_arguments_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    assert demo_data.main([str(a_file), "--pairs", "1"]) == 1
    assert "not a directory" in capsys.readouterr().err
    assert demo_data.main([str(tmp_path / "o"), "--pairs", "0"]) == 1
    assert "--pairs" in capsys.readouterr().err
    assert demo_data.main([str(tmp_path / "o"), "--pairs", "1", "--sample-rate", "100"]) == 1
    assert "sample_rate" in capsys.readouterr().err
    assert a_file.read_text() == "x"  # nothing overwritten
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "input_000.wav").write_bytes(b"someone's recording")
    assert demo_data.main([str(foreign), "--pairs", "1"]) == 1
    assert "not written by demo-data" in capsys.readouterr().err
    assert (foreign / "input_000.wav").read_bytes() == b"someone's recording"


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    bad = np.zeros((2, 3, 4), np.float32)  # pedalboard refuses a 3-D block mid-write
    with pytest.raises(RuntimeError, match="dimensions"):
        demo_data.write_wav(tmp_path / "input_000.wav", bad, 44100)
    assert list(tmp_path.iterdir()) == []


# sha256 (first 16 hex digits) of input bytes + target bytes + the info JSON, recorded from
# the single-module generator before it was split into synth_* modules (issue 13): the
# split must not change one sample. Exact on one platform (numpy/scipy float32 paths); a
# numpy/scipy upgrade that changes rounding would show up here first.
PINNED = {
    "train-0": "ef8bb6b24b15c99c",
    "valid-0": "c34e0c5d305b4cd2",
    "train-1": "df20e3198428d4c9",
    "valid-1": "974a0165c5c2d9ac",
    "train-7": "29b0b2bc53b9d626",
    "valid-7": "dc7f16428f734a17",
    "mono-22050-3": "79b907103c6ff6c5",
    "kit-acoustic": "be6f124f5d3b5009",
    "kit-electro_808": "987968f29f8e1f19",
    "kit-tight_909": "f738b74291f5a374",
    "kit-lofi": "f6d13b167f8ad9f4",
    "kit-industrial": "11cd337069300057",
    "kit-hand_perc": "08c8cde5c65cd51e",
    "timbre-pad": "ca455ec98f240c97",
    "timbre-organ": "ddbf8f6752482bd1",
    "timbre-pluck": "4feecfb3f9ddb7fb",
    "timbre-fm_bell": "14229359ff6646b1",
    "timbre-bass": "42f821cf9eb3513a",
    "timbre-epiano": "e95c1138a034ede9",
    "timbre-strings": "649be8f93c62434a",
    "timbre-marimba": "dc3d878b783edd55",
    "timbre-square_bass": "6d7155eb725b474c",
}


def _pinned_case(name: str) -> tuple[SynthConfig, int]:
    kind, _, rest = name.partition("-")
    if kind in ("train", "valid"):
        make = train_config if kind == "train" else validation_config
        return make(seconds=1.0), int(rest)
    if kind == "mono":
        return SynthConfig(seconds=1.0, channels=1, sample_rate=22050), 3
    if kind == "kit":
        return SynthConfig(seconds=1.0, kits=(rest,)), 11
    chord = next(t for t in TIMBRES if "chords" in TIMBRES[t])
    timbres = (rest,) if "chords" in TIMBRES[rest] else (rest, chord)
    return SynthConfig(seconds=1.0, timbres=timbres), 5


@pytest.mark.parametrize("name", sorted(PINNED))
def test_output_is_bit_identical_to_the_pinned_generator(name: str) -> None:
    cfg, seed = _pinned_case(name)
    x, y, info = generate_pair_info(cfg, seed)
    h = hashlib.sha256()
    h.update(x.tobytes())
    h.update(y.tobytes())
    h.update(json.dumps(info, sort_keys=True, default=str).encode())
    assert h.hexdigest()[:16] == PINNED[name]


def test_pinned_cases_cover_every_kit_timbre_and_layer() -> None:
    cases = [_pinned_case(n) for n in PINNED]
    assert {k for cfg, _ in cases for k in cfg.kits} == set(KITS)
    assert {t for cfg, _ in cases for t in cfg.timbres} == set(TIMBRES)
    targets = [generate_pair_info(cfg, seed)[2]["target"] for cfg, seed in cases]
    assert any(t["bass"] for t in targets) and any(t["arp"] for t in targets)
    assert any(t["stabs"] for t in targets) and not all(t["stabs"] for t in targets)
