"""SoundFont pairs (sampled instruments): determinism, shapes and levels, the held-out split
(by table and by measured sample sharing), the disk cache, the training hook, the
``real-pairs`` command, and the one-line error for a missing SoundFont. Tiny clips (0.5 s)
keep it fast; the code path is the one 8 s clips take."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from pedalboard.io import AudioFile

from model import AgentConfig
from training.config import TrainConfig
from training.data.soundfont import (
    FontBank,
    MissingSoundFontError,
    MixedPairs,
    SoundFontConfig,
    SoundFontPairs,
    instruments,
    render_pair_info,
    split_of,
)
from training.data.soundfont import cli as real_pairs
from training.data.soundfont import fonts as F
from training.data.soundfont.drums import KICK, groove_notes, without
from training.data.soundfont.sequencer import Note
from training.data.synth import PEAK_CEILING, SynthPairs, item_seed
from training.train import make_dataset

SR = 44100
TINY = 0.5  # clip length, s
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bank() -> FontBank:
    for name in F.FONTS:  # a missing font fails here, naming its package
        try:
            F.font_path(name)
        except MissingSoundFontError as exc:
            pytest.fail(str(exc))
    return FontBank(SR)


def _rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64)))))


@pytest.mark.parametrize("split", ["train", "valid"])
def test_same_seed_same_bytes_whatever_played_before(bank: FontBank, split: str) -> None:
    cfg = SoundFontConfig(split=split, seconds=TINY)
    used = [render_pair_info(cfg, item_seed(3, i), bank) for i in range(5)]
    for i in range(5):  # a fresh bank per pair: no voices or channel state carried over
        x, y, info = render_pair_info(cfg, item_seed(3, i), FontBank(SR))
        assert x.tobytes() == used[i][0].tobytes() and y.tobytes() == used[i][1].tobytes()
        assert info == used[i][2]
    assert not np.array_equal(used[0][0], used[1][0])
    assert not np.array_equal(used[0][1], used[1][1])


@pytest.mark.parametrize(("split", "channels"), [("train", 2), ("valid", 2), ("train", 1)])
def test_shapes_peak_and_level(bank: FontBank, split: str, channels: int) -> None:
    # a fixed level: every clip lands on it (-30 dBFS RMS never reaches the peak ceiling)
    cfg = SoundFontConfig(
        split=split, channels=channels, rms_dbfs_range=(-30.0, -30.0), seconds=TINY
    )
    for seed in range(4):
        x, y, _ = render_pair_info(cfg, seed, bank)
        for a in (x, y):
            assert a.shape == (channels, round(0.5 * SR)) and a.dtype == np.float32
            assert np.isfinite(a).all() and 0.0 < np.abs(a).max() <= PEAK_CEILING
            assert _rms_db(a) == pytest.approx(-30.0, abs=0.01)  # float32 rounding


def test_levels_spread_over_the_range(bank: FontBank) -> None:
    cfg = SoundFontConfig(seconds=TINY)
    levels = np.array([[_rms_db(a) for a in render_pair_info(cfg, s, bank)[:2]] for s in range(16)])
    lo, hi = cfg.rms_dbfs_range
    assert (levels >= lo - 0.01).all() and (levels <= hi + 0.01).all()
    diff = levels[:, 0] - levels[:, 1]  # input minus target, dB
    assert diff.max() > 5.0 and diff.min() < -5.0  # either clip may be the louder


def test_split_table_is_disjoint_and_holds_out_fonts_kits_programs() -> None:
    train, valid = set(instruments("train")), set(instruments("valid"))
    assert train and valid and not train & valid
    assert not {i.font for i in train} & set(F.VALID_ONLY_FONTS)
    assert not {i.preset for i in train if not i.drums} & set(F.VALID_PROGRAMS)
    assert {i.font for i in valid if i.drums} == set(F.VALID_KITS)
    for role in ("chords", "bass", "arp"):  # validation can play every part
        assert any(role in F.FAMILIES[i.family][1] for i in valid if not i.drums), role
    assert all(split_of(i) == "valid" for i in valid)


def test_pairs_play_only_their_splits_instruments(bank: FontBank) -> None:
    for split in ("train", "valid"):
        names = {f"{i.font}:{i.bank}:{i.preset}" for i in instruments(split)}
        cfg = SoundFontConfig(split=split, seconds=TINY)
        for seed in range(12):
            _, _, info = render_pair_info(cfg, seed, bank)
            played = [info["input"]["kit"], info["target"]["chords_by"]]
            played += [
                str(v).split("/")[0] for v in (info["target"]["bass"], info["target"]["arp"]) if v
            ]
            assert set(played) <= names, (split, seed, played)


def _spectra(bank: FontBank, inst: F.Instrument, keys: range | tuple[int, ...]) -> list[np.ndarray]:
    """Unit-energy FFTs (size 16384) of 0.15 s single notes, for cross-correlation."""
    out = []
    for k in keys:
        a = bank.render(inst, [Note(0.0, 0.15, k, 100)], 6615).mean(axis=0)
        norm = float(np.linalg.norm(a))
        if norm > 1e-4:
            out.append(np.fft.rfft(a / norm, 16384))
    return out


def _max_xcorr(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    best = 0.0
    for fa in a:
        for fb in b:
            best = max(best, float(np.abs(np.fft.irfft(fa * np.conj(fb))).max()))
    return best


def test_validation_instruments_share_no_samples_with_training(bank: FontBank) -> None:
    # Max normalised cross-correlation of single notes: the same sample measures >= 0.93
    # (sf_GMbank vs TimGM6mb piano: 1.0); distinct instruments at the same pitch <= 0.88.
    train, valid = instruments("train"), instruments("valid")
    melodic_keys = (43, 67)
    melodic_train = [i for i in train if not i.drums]
    spectra = {i: _spectra(bank, i, melodic_keys) for i in melodic_train}
    for v in (i for i in valid if not i.drums):
        sv = _spectra(bank, v, melodic_keys)
        worst = max((_max_xcorr(sv, spectra[t]), t) for t in melodic_train)
        assert worst[0] < 0.9, (v, worst)
    drum_keys = range(35, 62)

    def played(kit: F.Instrument) -> tuple[int, ...]:
        return tuple(k for k in drum_keys if k not in F.SHARED_NOTES.get(kit.font, ()))

    for v in (i for i in valid if i.drums):
        sv = _spectra(bank, v, played(v))
        for t in (i for i in train if i.drums):
            assert _max_xcorr(sv, _spectra(bank, t, played(t))) < 0.9, (v, t)


def test_a_restruck_key_ends_the_earlier_note(bank: FontBank) -> None:
    organ = F.Instrument("timgm6mb", 0, 16, False, "organ")  # sustains while held
    overlapping = bank.render(organ, [Note(0.0, 1.0, 60, 100), Note(0.5, 1.0, 60, 100)], SR)
    restruck = bank.render(organ, [Note(0.0, 0.5, 60, 100), Note(0.5, 1.0, 60, 100)], SR)
    assert overlapping.tobytes() == restruck.tobytes()
    stacked = bank.render(organ, [Note(0.0, 1.0, 60, 100), Note(0.5, 1.0, 61, 100)], SR)
    assert not np.array_equal(stacked, restruck)  # other keys do overlap


def test_shared_notes_are_never_played_from_that_kit() -> None:
    rng = np.random.default_rng(0)
    notes, _ = groove_notes(rng, 8.0, 120.0, False, 10.0, 0.0, 1.0)
    shared = F.SHARED_NOTES["red_zeppelin"]
    kept = without(notes, shared)
    assert {n.key for n in notes} & set(shared)  # the groove did use them
    assert not {n.key for n in kept} & set(shared)
    assert [n for n in kept if n.key == KICK] == [n for n in notes if n.key == KICK]


def test_cache_is_written_once_and_reused(tmp_path: Path) -> None:
    cfg = SoundFontConfig(seconds=TINY)
    ds = SoundFontPairs(cfg, 3, seed=5, cache_dir=tmp_path)
    item = ds[1]
    path = ds.cache_path(1)
    assert path is not None and path.is_file() and path.parent.parent == tmp_path
    x, y, _ = render_pair_info(cfg, item_seed(5, 1), FontBank(SR))
    assert torch.equal(item["input"], torch.from_numpy(x))
    assert torch.equal(item["target"], torch.from_numpy(y))
    # a second dataset reads the file instead of rendering: plant a marker in it
    marker = np.full((2, 2, cfg.n_samples), 0.25, np.float32)
    np.save(path, marker)
    again = SoundFontPairs(cfg, 3, seed=5, cache_dir=tmp_path)[1]
    assert torch.equal(again["input"], torch.from_numpy(marker[0]))
    # another seed or config is another key: nothing is served from the wrong entry
    assert SoundFontPairs(cfg, 3, seed=6, cache_dir=tmp_path).cache_path(1) != path
    other = SoundFontPairs(SoundFontConfig(seconds=0.6), 3, seed=5, cache_dir=tmp_path)
    assert other.cache_path(1) is not None and other.cache_path(1).parent != path.parent  # type: ignore[union-attr]
    # a file of the wrong shape is rendered again and replaced
    np.save(path, np.zeros((2, 2, 10), np.float32))
    fixed = SoundFontPairs(cfg, 3, seed=5, cache_dir=tmp_path)[1]
    assert torch.equal(fixed["input"], torch.from_numpy(x))
    assert np.load(path).shape == (2, 2, cfg.n_samples)


def test_training_hook_builds_soundfont_and_mixed_sets(tmp_path: Path) -> None:
    model_cfg = AgentConfig.preset("tiny")
    base = dict(train_pairs=4, crop_seconds=0.5, data_cache=str(tmp_path / "cache"))
    sf = make_dataset(TrainConfig(data="soundfont", **base), model_cfg)  # type: ignore[arg-type]
    assert isinstance(sf, SoundFontPairs) and len(sf) == 4 and sf.cfg.split == "train"
    assert sf[0]["input"].shape == (2, round(0.5 * model_cfg.sample_rate))
    assert (tmp_path / "cache").is_dir()
    mix = make_dataset(TrainConfig(data="mix", **base), model_cfg)  # type: ignore[arg-type]
    assert isinstance(mix, MixedPairs) and len(mix) == 4
    assert isinstance(mix.sources[0], SynthPairs) and isinstance(mix.sources[1], SoundFontPairs)
    assert torch.equal(mix[3]["target"], mix.sources[1][1]["target"])  # item 3 = source 1, item 1


def _run_cli(
    args: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plugin_host.cli", "real-pairs", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=300,
        check=False,
    )


def test_real_pairs_writes_named_pairs_equal_to_the_dataset(tmp_path: Path) -> None:
    out = tmp_path / "pairs"
    r = _run_cli([str(out), "--pairs", "2", "--seconds", "0.5", "--seed", "3"])
    assert r.returncode == 0, r.stderr
    assert "wrote 2 pairs" in r.stdout and "split valid" in r.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert [it["name"] for it in manifest["items"]] == ["valid_000", "valid_001"]
    ds = SoundFontPairs(SoundFontConfig(split="valid", seconds=TINY), 2, seed=3)
    for i, name in enumerate(("valid_000", "valid_001")):
        for key in ("input", "target"):
            with AudioFile(str(out / f"{name}_{key}.wav")) as f:
                assert f.samplerate == SR and f.num_channels == 2
                audio = f.read(f.frames)
            np.testing.assert_array_equal(audio, ds[i][key].numpy())  # 32-bit float: exact


def test_real_pairs_refuses_a_folder_of_other_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "valid_000_input.wav").write_bytes(b"")
    assert real_pairs.main([str(tmp_path), "--pairs", "1", "--seconds", "0.5"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "valid_000_input.wav not written by real-pairs" in err
    assert (tmp_path / "valid_000_input.wav").read_bytes() == b""


def test_missing_soundfont_is_one_line_naming_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(F.ENV_PATH, str(tmp_path))
    with pytest.raises(
        MissingSoundFontError, match=r"install the Debian package \S+-soundfont"
    ) as exc:
        SoundFontPairs(SoundFontConfig(seconds=TINY), 2)
    assert "\n" not in str(exc.value) and str(tmp_path) in str(exc.value)
    r = _run_cli([str(tmp_path / "out"), "--pairs", "1"], env={F.ENV_PATH: str(tmp_path)})
    assert r.returncode == 1 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "real-pairs: SoundFont" in lines[0]
    assert "make soundfonts" in lines[0] and "-soundfont" in lines[0]


def test_env_path_overrides_the_search_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = F.font_path("timgm6mb")
    (tmp_path / real.name).symlink_to(real)
    monkeypatch.setenv(F.ENV_PATH, f"{tmp_path / 'nothing'}{os.pathsep}{tmp_path}")
    assert F.font_path("timgm6mb") == tmp_path / real.name
    with pytest.raises(MissingSoundFontError, match=r"avldrums\.lv2-soundfont"):
        F.font_path("black_pearl")


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match=r"SoundFontConfig\.split"):
        SoundFontConfig(split="test")
    with pytest.raises(ValueError, match=r"SoundFontConfig\.rms_dbfs_range"):
        SoundFontConfig(rms_dbfs_range=(-10.0, 3.0))
    with pytest.raises(ValueError, match=r"SoundFontConfig\.grooves"):
        SoundFontConfig(grooves=("polka",))


def test_make_soundfonts_installs_every_package_the_table_names() -> None:
    line = next(
        ln for ln in (REPO / "Makefile").read_text().splitlines() if ln.startswith("SOUNDFONT_PKGS")
    )
    assert set(line.split(":=")[1].split()) == {f.package for f in F.FONTS.values()}
