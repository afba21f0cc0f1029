"""``creative-agent evaluate`` on pairs made in code, with a real ONNX Runtime session on the
tiny model, real renders, the real CLI in a subprocess; and the baseline mixers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pedalboard.io import AudioFile

from plugin_host import measures as M
from plugin_host.evaluate import (
    COUNTED,
    NUMERIC,
    EvaluateConfig,
    _measure_baseline,
    evaluate,
)
from plugin_host.evaluate_pairs import EvaluateError, agent_inputs, find_pairs, gained_copy
from plugin_host.evaluate_table import format_condition, format_tables
from plugin_host.mixers import energy, loudness_matched_sum, plain_sum
from plugin_host.renderer import render
from plugin_host.runtime import LoadedModel, load_model
from plugin_host.share_calibration import ShareCalibrationConfig
from tests.helpers import chord, click_track

SR = 44100
SECONDS = 0.75
PAIRS = ("p0", "p1", "p2")
KNOBS = (0.25, 0.75)
GAINS = (0.0, 12.0)
# float32 sums in a different order than float64 whole-clip sums: what separates the
# streamed report from a whole-clip re-measure (tests/test_host_report.py uses the same)
STREAM_VS_WHOLE = 1e-5


def write(path: Path, x: np.ndarray, sr: float = SR) -> Path:
    depth = 24 if path.suffix == ".flac" else 32  # FLAC has no float samples
    with AudioFile(str(path), "w", sr, x.shape[0], bit_depth=depth) as f:
        f.write(x.astype(np.float32))
    return path


def read(path: Path) -> np.ndarray:
    with AudioFile(str(path)) as f:
        x: np.ndarray = f.read(f.frames)
    return x


def make_pairs(folder: Path) -> Path:
    """p0, p1: stereo pairs of one length at different tempi, keys and levels; p2: a mono
    target shorter than its input (looped under it by the render)."""
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / "p0_input.wav", click_track(SECONDS, bpm=120, seed=0))
    write(folder / "p0_target.wav", chord(SECONDS, root_hz=220.0))
    write(folder / "p1_input.wav", 0.5 * click_track(SECONDS, bpm=170, seed=1))
    write(folder / "p1_target.wav", 1.5 * chord(SECONDS, root_hz=261.6))
    write(folder / "p2_input.wav", click_track(SECONDS, bpm=90, seed=2))
    write(folder / "p2_target.wav", chord(0.4, channels=1, root_hz=196.0))
    (folder / "notes.txt").write_text("not audio: ignored\n")
    return folder


@pytest.fixture(scope="module")
def model(tiny_onnx: Path) -> LoadedModel:
    return load_model(tiny_onnx, provider="cpu")


@pytest.fixture(scope="module")
def pairs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pairs(tmp_path_factory.mktemp("pairs"))


@pytest.fixture(scope="module")
def result(pairs_dir: Path, model: LoadedModel) -> dict[str, Any]:
    return evaluate(pairs_dir, model, EvaluateConfig(balances=KNOBS, input_gains_db=GAINS))


def condition(result: dict[str, Any], gain: float, knob: float) -> dict[str, Any]:
    (found,) = [
        c for c in result["conditions"] if c["input_gain_db"] == gain and c["balance"] == knob
    ]
    return found


MASK_MAX = 10 ** (ShareCalibrationConfig().max_gain_db / 40)  # g^(1/4) at the gain limit


def test_every_pair_at_every_knob_and_gain(result: dict[str, Any]):
    got = [(c["input_gain_db"], c["balance"]) for c in result["conditions"]]
    assert got == [(g, k) for g in GAINS for k in KNOBS]
    assert result["pairs"] == list(PAIRS)
    for c in result["conditions"]:
        assert [r["pair"] for r in c["rows"]] == list(PAIRS)
        for r in c["rows"]:
            agent = r["agent"]
            assert agent["verdict"] in M.VERDICTS
            # every agent measure is defined on these pairs (none silent)
            assert all(agent[k] is not None for k in NUMERIC), agent
            # calibrated masks (evaluate's default) may exceed 1 by up to max_gain_db / 2 dB
            assert 0.0 <= agent["target_mask_mean"] <= MASK_MAX


def test_table_has_the_right_rows(result: dict[str, Any]):
    c = condition(result, 0.0, 0.25)
    lines = format_condition(c).splitlines()
    assert lines[0] == "knob 0.25 | input +0 dB | 3 pairs"
    assert lines[1].split()[:4] == ["pair", "r", "in", "r"]
    labels = [line.split("  ")[0].strip() for line in lines[2:]]
    assert labels == [*PAIRS, "mean", "plain sum (mean)", "loudness-matched (mean)"]
    seed_col = lines[1].index("seed") + len("seed")  # right-aligned under its header
    seeds = [line[:seed_col].split()[-1] for line in lines[2:]]
    want = ["yes" if r["agent"]["meets_seed_criteria"] else "no" for r in c["rows"]]
    n_ok = sum(r["agent"]["meets_seed_criteria"] for r in c["rows"])
    assert seeds[:4] == [*want, f"{n_ok}/3"]
    text = format_tables(result)
    assert text.count("\nmean ") == len(GAINS) * len(KNOBS)
    assert "knob 0.75 | input +12 dB | 3 pairs" in text


def test_means_are_the_means_of_the_rows(result: dict[str, Any]):
    for c in result["conditions"]:
        for mixer in ("agent", "plain_sum", "loudness_matched_sum"):
            rows = [r[mixer] for r in c["rows"]]
            mean = c["means"][mixer]
            assert mean["pairs"] == len(PAIRS)
            for key in NUMERIC:
                values = [r[key] for r in rows]
                if mixer != "agent" and key in ("masked_share_input", "target_mask_mean"):
                    assert values == [None] * 3 and mean[key] is None
                    continue
                assert mean[key] == pytest.approx(np.mean(values), abs=1e-12), (mixer, key)
            for key in COUNTED:
                flags = [r[key] for r in rows]
                if mixer != "agent" and key == "masked_share_honest":
                    assert mean[key] is None
                    continue
                assert mean[key] == sum(f is True for f in flags), (mixer, key)
            for r in rows:
                want = abs(r["share_input"] - c["balance"]) <= 0.1
                assert r["share_honest"] is want


def direct_measures(y: np.ndarray, x: np.ndarray, t: np.ndarray, model: LoadedModel) -> dict:
    """The report's definitions straight from ``plugin_host.measures`` on whole clips."""
    dsp, sr = model.dsp, model.metadata.sample_rate
    spec = [dsp.stft(s[None])[0] for s in (y, x, t)]
    band = [dsp.band_power(s[None])[0] for s in spec]
    ls = M.ls_decomposition(y, x, t)
    r_in, r_tg = M.pearson(y, x), M.pearson(y, t)
    return {
        "output_input_corr": r_in,
        "output_target_corr": r_tg,
        "meets_seed_criteria": M.meets_seed_criteria(r_in, r_tg),
        "share_input": ls["share_input"],
        "onset_corr_input": M.band_onset_corr(band[0], band[1]),
        "chroma_cos_target": M.chroma_cos(np.abs(spec[0]), np.abs(spec[2]), sr, dsp.n_fft),
    }


@pytest.mark.parametrize("gain", GAINS)
def test_plain_sum_row_equals_measures_of_the_plain_sum(
    result: dict[str, Any], pairs_dir: Path, model: LoadedModel, gain: float
):
    for pair in ("p0", "p1"):  # same rate, channels and length: the files are what the agent saw
        x = read(pairs_dir / f"{pair}_input.wav") * np.float32(10 ** (gain / 20))
        t = read(pairs_dir / f"{pair}_target.wav")
        want = direct_measures(0.5 * x + 0.5 * t, x, t, model)
        for knob in KNOBS:
            (row,) = [r for r in condition(result, gain, knob)["rows"] if r["pair"] == pair]
            got = row["plain_sum"]
            # same float32 signals through the same float64 functions: equal up to rounding
            for key, value in want.items():
                assert got[key] == pytest.approx(value, rel=1e-6, abs=1e-9), (pair, key)
    # the gain reached the sources: +12 dB on the input raises the plain sum's input share
    plain = [condition(result, g, KNOBS[0])["means"]["plain_sum"]["share_input"] for g in GAINS]
    assert plain[1] > plain[0] + 0.2


def test_loudness_matched_sum_holds_half_at_any_level(result: dict[str, Any]):
    for c in result["conditions"]:
        for r in c["rows"]:
            m = r["loudness_matched_sum"]
            # an exactly linear mix of equal-energy sources: least squares recovers the gains
            # to float32 rounding (~1e-7 relative), far inside 1e-4
            assert m["share_input"] == pytest.approx(0.5, abs=1e-4)
            assert m["residual"] == pytest.approx(0.0, abs=1e-6)


def test_agent_row_is_the_render_report(
    result: dict[str, Any], pairs_dir: Path, model: LoadedModel, tmp_path: Path
):
    """The agent's row is the host's own render report, and its waveform measures agree with
    the baselines' whole-clip measure on the rendered file (one yardstick for all rows)."""
    for gain, pair in ((0.0, "p2"), (12.0, "p0")):
        src = pairs_dir / f"{pair}_input.wav"
        if gain:
            src = gained_copy(src, gain, tmp_path)
            assert np.array_equal(
                read(src), read(pairs_dir / f"{pair}_input.wav") * np.float32(10**0.6)
            )
        tg = pairs_dir / f"{pair}_target.wav"
        report = render(src, tg, model, tmp_path / f"{pair}.wav", balance=KNOBS[1])
        (row,) = [r for r in condition(result, gain, KNOBS[1])["rows"] if r["pair"] == pair]
        for key in ("output_input_corr", "share_input", "onset_corr_input", "chroma_cos_target"):
            assert row["agent"][key] == report[key], key
        assert row["agent"]["masked_share_input"] == report["masks"]["masked_share_input"]
        assert row["agent"]["target_mask_mean"] == report["masks"]["target_mask_mean"]
        x, t = agent_inputs(src, tg, model.metadata.sample_rate)
        again = _measure_baseline(read(tmp_path / f"{pair}.wav"), x, t, model)
        for key in ("output_input_corr", "output_target_corr", "share_input"):
            assert again[key] == pytest.approx(report[key], abs=STREAM_VS_WHOLE), key


def test_mixers():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4000)).astype(np.float32) * np.float32(0.05)
    t = rng.standard_normal((2, 4000)).astype(np.float32) * np.array([[2.0], [0.5]], np.float32)
    y = loudness_matched_sum(x, t)
    assert y.dtype == np.float32 and y.shape == x.shape
    ls = M.ls_decomposition(y, x, t)
    a, b = ls["coef_input"], ls["coef_target"]
    assert a is not None and b is not None
    e_in, e_tg = a**2 * energy(x), b**2 * energy(t)
    assert e_in == pytest.approx(e_tg, rel=1e-5)  # float32 rounding of the gains and sum
    assert e_in == pytest.approx(0.25 * (energy(x) + energy(t)) / 2, rel=1e-5)
    np.testing.assert_array_equal(plain_sum(x, t), (np.float32(0.5) * x + np.float32(0.5) * t))
    np.testing.assert_array_equal(plain_sum(x, t, 1.0), x)
    with pytest.raises(ValueError, match="target is silent"):
        loudness_matched_sum(x, np.zeros_like(x))
    with pytest.raises(ValueError, match="balance must be in"):
        plain_sum(x, t, 1.5)
    with pytest.raises(ValueError, match="one shape"):
        plain_sum(x, t[:1])


def test_pair_discovery(tmp_path: Path):
    a = np.zeros((1, 100), np.float32)
    for name in ("b_input.wav", "b_target.flac", "input_a.wav", "target_a.wav", "x.wav"):
        write(tmp_path / name, a)
    (tmp_path / "b_input.asd").write_bytes(b"analysis file of a DAW")
    (tmp_path / "manifest.json").write_text("{}")
    found = find_pairs(tmp_path)
    assert [(p.name, p.input.name, p.target.name) for p in found] == [
        ("a", "input_a.wav", "target_a.wav"),
        ("b", "b_input.wav", "b_target.flac"),
    ]


def test_pair_folder_errors(tmp_path: Path):
    a = np.zeros((1, 100), np.float32)
    with pytest.raises(EvaluateError, match="not a directory"):
        find_pairs(tmp_path / "missing")
    with pytest.raises(EvaluateError, match=r"no NAME_input\.EXT / NAME_target\.EXT pairs"):
        find_pairs(tmp_path)
    write(tmp_path / "solo_input.wav", a)
    with pytest.raises(
        EvaluateError, match=r"solo_input\.wav: no matching target file for pair 'solo'"
    ):
        find_pairs(tmp_path)
    write(tmp_path / "solo_target.wav", a)
    write(tmp_path / "solo_target.flac", a)
    with pytest.raises(EvaluateError, match="a second target for pair 'solo'"):
        find_pairs(tmp_path)
    with pytest.raises(EvaluateError, match=r"balance 1\.5: must be between 0 and 1"):
        EvaluateConfig(balances=(0.5, 1.5))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plugin_host.cli", "evaluate", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_cli_json_out_and_tables(pairs_dir: Path, tiny_onnx: Path, tmp_path: Path):
    out = tmp_path / "eval.json"
    common = ["--pairs", str(pairs_dir), "--model", str(tiny_onnx), "--provider", "cpu"]
    done = cli(*common, "--balance", "0.5", "--json", "--out", str(out))
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed == json.loads(out.read_text())
    assert printed["schema"] == "creative-agent/evaluate/1"
    assert [(c["input_gain_db"], c["balance"]) for c in printed["conditions"]] == [(0.0, 0.5)]
    assert [r["pair"] for r in printed["conditions"][0]["rows"]] == list(PAIRS)
    # an existing --out is refused before anything renders; tables are the default output
    again = cli(*common, "--balance", "0.5", "--input-gain-db=-12", "--out", str(out))
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.strip().splitlines()[-1] == (
        f"creative-agent evaluate: error: out {out}: exists (pass --overwrite to replace it)"
    )
    tables = cli(*common, "--balance", "0.5", "--input-gain-db=-12")
    assert tables.returncode == 0, tables.stderr
    assert tables.stdout.startswith("knob 0.50 | input -12 dB | 3 pairs\npair ")


def test_cli_errors(tmp_path: Path, tiny_onnx: Path):
    empty = cli("--pairs", str(tmp_path), "--model", str(tiny_onnx))
    assert empty.returncode == 1
    assert (
        empty.stderr.strip()
        .splitlines()[-1]
        .startswith(f"creative-agent evaluate: error: pairs folder {tmp_path}: no NAME_input.EXT")
    )
    write(tmp_path / "solo_target.wav", np.zeros((1, 100), np.float32))
    unmatched = cli("--pairs", str(tmp_path), "--model", str(tiny_onnx))
    assert unmatched.returncode == 1
    assert unmatched.stderr.strip().splitlines()[-1] == (
        f"creative-agent evaluate: error: {tmp_path / 'solo_target.wav'}: no matching input "
        "file for pair 'solo'"
    )
    usage = cli("--pairs", str(tmp_path), "--model", str(tiny_onnx), "--balance", "0.5,2")
    assert usage.returncode == 2  # argparse's usage error
    assert (
        usage.stderr.strip()
        .splitlines()[-1]
        .endswith("argument --balance: value 2: must be between 0 and 1")
    )
