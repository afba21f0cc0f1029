"""Tempo, beats, downbeat and key estimation, and the TARGET's alignment to the INPUT, on
drum and chord loops made in code (tests/musical_clips.py: exact tempo, downbeat, key)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from musical_clips import SR, chord_loop, drum_loop, write_clip

from plugin_host.measures import pearson
from plugin_host.musical.align import align_pair, parse_transpose, smallest_shift, tempo_match
from plugin_host.musical.analysis import analyse
from plugin_host.musical.config import KeyConfig
from plugin_host.musical.features import onset_frames, pick_onsets
from plugin_host.musical.loop import loop_bars, plan_loop
from plugin_host.musical.tempo import octave_error

MUSICAL = Path(__file__).resolve().parents[1] / "plugin_host" / "musical"
# The tolerances: tempo within 2 % (or an octave off, reported), onsets within 20 ms
# of the grid (about the threshold at which listeners hear two onsets as not together).
TEMPO_TOL = 0.02
GRID_TOL_S = 0.020
# 20 ms too for a beat or downbeat estimate against the synthesis time: the envelope's
# frames are 5.8 ms, and a flux peak can sit a frame before the attack.
BEAT_TOL_S = 0.020
LEAD_S = 0.25

DRUMS = [(90, "rock"), (100, "breakbeat"), (128, "four_floor"), (140, "halftime")]
# (bpm, tonic, minor, name): other tempi than the drums, major and minor, several tonics
CHORDS = [
    (76, 0, False, "C major"),
    (84, 6, True, "F# minor"),
    (112, 9, True, "A minor"),
    (118, 10, False, "Bb major"),
    (150, 2, False, "D major"),
]


@pytest.mark.parametrize(("bpm", "pattern"), DRUMS)
def test_drum_loop_tempo_and_beats(bpm, pattern):
    a = analyse(drum_loop(bpm, pattern, lead_s=LEAD_S), SR)
    octave = octave_error(a.tempo.bpm, bpm, TEMPO_TOL)
    assert octave in (-1, 0, 1), f"{a.tempo.bpm:.2f} BPM for {bpm}"
    # 4 bars at the estimated tempo: every tracked beat sits on the true grid (its octave)
    period = 60.0 / (bpm * 2.0**octave)
    beats = np.asarray(a.tempo.beats)
    assert beats.size >= 4 * 4 * 2.0**octave - 2  # 4 bars; a weak edge beat may be dropped
    dev = (beats - LEAD_S + period / 2) % period - period / 2
    assert np.abs(dev).max() < BEAT_TOL_S, dev


@pytest.mark.parametrize(("bpm", "pattern"), DRUMS)
def test_drum_loop_key_confidence_is_low(bpm, pattern):
    key = analyse(drum_loop(bpm, pattern), SR).key
    assert key.confidence < KeyConfig().min_confidence, key
    assert not key.reliable()


@pytest.mark.parametrize(("bpm", "tonic", "minor", "name"), CHORDS)
def test_chord_loop_tempo_key_and_downbeat(bpm, tonic, minor, name):
    lead = 0.7  # not on a beat of the loop's own grid
    a = analyse(chord_loop(bpm, tonic, minor, lead_s=lead), SR)
    assert octave_error(a.tempo.bpm, bpm, TEMPO_TOL) in (-1, 0, 1), a.tempo.bpm
    assert a.key.name == name, a.key
    assert a.key.reliable(), a.key
    # the chords change on beat 1 of each bar: the first downbeat is the first bar's start
    assert a.downbeat is not None
    assert abs(a.downbeat.first_s - lead) < BEAT_TOL_S, a.downbeat
    # > 0.5: beat 1 scores over twice the next position (measured 0.81-0.85)
    assert a.downbeat.confidence > 0.5, a.downbeat


@pytest.mark.parametrize(("bpm", "pattern"), [(100, "breakbeat"), (140, "halftime")])
def test_drum_downbeat_from_the_kick(bpm, pattern):
    """In these patterns the kick falls on beat 1 only (among the beats)."""
    lead = 0.6
    a = analyse(drum_loop(bpm, pattern, lead_s=lead), SR)
    assert a.downbeat is not None
    assert abs(a.downbeat.first_s - lead) < BEAT_TOL_S, a.downbeat


def _grid_error(onsets: np.ndarray, start: float, period: float) -> np.ndarray:
    """Signed distance (s) of each onset to the nearest point start + k·period."""
    return (onsets - start + period / 2) % period - period / 2


def _onset_corr(a: np.ndarray, b: np.ndarray) -> float | None:
    n = min(a.shape[-1], b.shape[-1])
    ea, eb = onset_frames(a[:, :n], SR).full, onset_frames(b[:, :n], SR).full
    return pearson(ea, eb)


@pytest.mark.parametrize(
    ("in_bpm", "pattern", "tg_bpm", "octave"),
    [(100, "breakbeat", 84, 0), (90, "halftime", 150, -1)],
)
def test_align_tempo_puts_target_onsets_on_the_input_grid(in_bpm, pattern, tg_bpm, octave):
    x_in = drum_loop(in_bpm, pattern, bars=4, lead_s=LEAD_S)
    x_tg = chord_loop(tg_bpm, 0, False, degrees=(1, 4, 5, 1, 6, 4, 5, 1), lead_s=0.9)
    out, info = align_pair(x_in, x_tg, SR, align="tempo")
    expected, oct_ = tempo_match(in_bpm, tg_bpm)
    assert oct_ == octave == info.octave_error
    assert info.stretch_factor == pytest.approx(expected, rel=TEMPO_TOL)
    assert info.shift_semitones == 0 and info.transpose == "none"
    # the target's beats land on the input's beats (or eighths when matched an octave down)
    grid = 60.0 / in_bpm / 2.0 ** (-octave)
    fr = onset_frames(out, SR)
    onsets = pick_onsets(fr.full, fr.frame_rate)
    onsets = onsets[onsets < x_in.shape[-1] / SR]
    assert onsets.size >= 12  # chords struck on every beat: ~16 within the input's 4 bars
    err = _grid_error(onsets, LEAD_S, grid)
    assert np.abs(err).max() < GRID_TOL_S, err
    # and its first downbeat on the input's first downbeat
    assert info.input_downbeat_s is not None
    assert abs(info.input_downbeat_s - LEAD_S) < BEAT_TOL_S
    assert abs(onsets[0] - info.input_downbeat_s) < GRID_TOL_S
    # rhythm: the aligned target follows the input's onsets better than the raw one (by
    # 0.1: well over the change a few frames of jitter make, well under what alignment adds)
    aligned, raw = _onset_corr(x_in, out), _onset_corr(x_in, x_tg)
    assert aligned is not None and raw is not None
    assert aligned > raw + 0.1, (aligned, raw)
    # the grid handed to loop_bars: the stretched target's tempo, the input's downbeat
    assert info.grid_bpm == pytest.approx(in_bpm * 2.0 ** (-octave), rel=TEMPO_TOL)
    assert info.grid_downbeat_s == info.input_downbeat_s
    rep = info.to_report()
    assert json.loads(json.dumps(rep)) == rep
    # offset: the target's downbeat (at 0.9 s, found within 20 ms) moved onto the input's
    assert info.target_downbeat_s is not None
    assert info.target_downbeat_s == pytest.approx(0.9, abs=BEAT_TOL_S)
    assert rep["offset_s"] == pytest.approx(
        info.input_downbeat_s - info.target_downbeat_s / info.stretch_factor, abs=0.001
    )  # 0.001: the report rounds to 1 ms


def test_transpose_auto_takes_the_smallest_interval():
    x_in = chord_loop(100, 0, False)  # C major
    for tonic, minor, shift in ((2, False, -2), (4, False, -4), (9, True, 0), (7, False, 5)):
        x_tg = chord_loop(100, tonic, minor)
        out, info = align_pair(x_in, x_tg, SR, transpose="auto")
        assert info.shift_semitones == shift, info
        assert info.stretch_factor == 1.0 and info.offset_s == 0.0
        if shift:
            assert analyse(out, SR).key.name == "C major"


def test_transpose_auto_does_nothing_under_drums():
    x_tg = chord_loop(100, 2, False)
    out, info = align_pair(drum_loop(100, "rock"), x_tg, SR, transpose="auto")
    assert info.shift_semitones == 0
    assert any("INPUT key unclear" in n for n in info.notes), info.notes
    assert np.array_equal(out, x_tg)


def test_transpose_by_n_semitones():
    out, info = align_pair(chord_loop(100, 0, False), chord_loop(100, 2, False), SR, transpose="+3")
    assert info.shift_semitones == 3
    assert analyse(out, SR).key.name == "F major"


def test_nothing_requested_leaves_the_target_as_is():
    x_tg = chord_loop(100, 2, False)
    out, info = align_pair(drum_loop(100, "rock"), x_tg, SR)
    assert np.array_equal(out, x_tg)
    assert info.input_bpm is None and info.stretch_factor == 1.0 and info.notes == ()


def test_bad_align_and_transpose_values_are_named():
    with pytest.raises(ValueError, match="align 'bars'"):
        align_pair(np.zeros((1, 10)), np.zeros((1, 10)), SR, align="bars")
    with pytest.raises(ValueError, match="transpose 'up'"):
        parse_transpose("up")
    with pytest.raises(ValueError, match="at most 12"):
        parse_transpose(13)
    assert parse_transpose(" Auto ") == "auto" and parse_transpose("-2") == -2


@pytest.mark.parametrize(
    ("a", "b", "shift"), [(2, 0, -2), (0, 6, -6), (0, 5, 5), (11, 0, 1), (0, 7, -5)]
)
def test_smallest_shift(a, b, shift):
    assert smallest_shift(a, b) == shift


def test_loop_bars_repeats_whole_bars_from_the_downbeat():
    sr, bpm = 1000, 120.0  # one bar = 2000 samples
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 300 + 2 * 2000 + 700)).astype(np.float32)  # pickup, 2 bars, tail
    out, plan = loop_bars(x, sr, 12000, bpm, downbeat_s=0.3)
    assert (plan.start, plan.bars, plan.body_samples) == (300, 2, 4000.0)
    assert out.shape == (2, 12000)
    np.testing.assert_array_equal(out[:, :4300], x[:, :4300])
    np.testing.assert_array_equal(out[:, 4300:8300], x[:, 300:4300])
    np.testing.assert_array_equal(out[:, 8300:], x[:, 300:4000])


def test_loop_bars_no_drift_on_a_fractional_bar():
    sr, bpm = 1000, 420.0  # bar = 4 beats of 1/7 s: 571.43 samples
    plan = plan_loop(2000, sr, bpm, 0.0)
    assert plan.bars == 3 and plan.body_samples == pytest.approx(3 * 4000 / 7)
    x = np.zeros((1, 2000), np.float32)
    x[0, 0] = 1.0  # a click on the downbeat
    out, _ = loop_bars(x, sr, 100_000, bpm, 0.0)
    clicks = np.flatnonzero(out[0])
    ideal = np.arange(clicks.size) * plan.body_samples
    assert np.abs(clicks - ideal).max() <= 0.5  # rounding only, never accumulated


def test_loop_bars_shorter_than_a_bar_loops_the_clip():
    x = np.arange(5, dtype=np.float32)[None]
    out, plan = loop_bars(x, 1000, 12, 120.0, 0.0)
    assert plan.bars == 0
    np.testing.assert_array_equal(out[0], [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1])


def test_musical_imports_stay_light_and_torch_free():
    code = (
        "import json, sys, time\n"
        "t = time.perf_counter()\n"
        "import plugin_host.musical.align, plugin_host.musical.loop\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in"
        " {'torch', 'pedalboard', 'onnxruntime', 'matplotlib'} or m == 'scipy.signal')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
    offenders = []
    for path in sorted(MUSICAL.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                offenders += [
                    n for n in names if n.split(".")[0] in {"torch", "model", "training", "export"}
                ]
    assert offenders == []


def test_noise_and_silence_have_no_pulse_and_no_key():
    rng = np.random.default_rng(0)
    for x in (
        0.1 * rng.standard_normal((2, 4 * SR)).astype(np.float32),
        np.zeros((2, 3 * SR), np.float32),
    ):
        a = analyse(x, SR)
        assert not a.tempo.reliable(), a.tempo
        assert not a.key.reliable(), a.key


def test_a_target_without_pulse_is_left_as_is_and_the_notes_say_why():
    x_tg = np.zeros((2, 3 * SR), np.float32)
    out, info = align_pair(drum_loop(100, "rock"), x_tg, SR, align="tempo", transpose="auto")
    assert np.array_equal(out, x_tg)
    assert info.stretch_factor == 1.0 and info.offset_s == 0.0 and info.shift_semitones == 0
    assert any("TARGET has no reliable pulse" in n for n in info.notes), info.notes
    assert any("INPUT key unclear" in n for n in info.notes), info.notes


@pytest.mark.parametrize("sr", [22050, 48000, 96000])
def test_other_sample_rates(sr):
    """Frame sizes follow the rate (powers of two nearest the configured seconds)."""
    d = analyse(drum_loop(128, "breakbeat", sr=sr), sr)
    assert octave_error(d.tempo.bpm, 128, TEMPO_TOL) == 0, d.tempo.bpm
    c = analyse(chord_loop(96, 7, True, sr=sr), sr)
    assert octave_error(c.tempo.bpm, 96, TEMPO_TOL) == 0, c.tempo.bpm
    assert c.key.name == "G minor" and c.key.reliable(), c.key
    assert not d.key.reliable(), d.key


def test_the_module_cli_prints_tempo_key_and_the_alignment(tmp_path: Path):
    write_clip(str(tmp_path / "in.wav"), drum_loop(100, "breakbeat"))
    write_clip(str(tmp_path / "tg.wav"), chord_loop(150, 2, False))
    run = [sys.executable, "-m", "plugin_host.musical"]
    done = subprocess.run(
        [*run, "in.wav", "tg.wav"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert len(rows) == 3 and rows[0].split()[:2] == ["file", "bpm"]
    assert float(rows[1].split()[1]) == pytest.approx(100, rel=TEMPO_TOL), rows
    assert rows[2].split()[5:7] == ["D", "major"], rows
    done = subprocess.run(
        [*run, "--pair", "in.wav", "tg.wav"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rep = json.loads(done.stdout)
    assert rep["stretch_factor"] == pytest.approx(100 / 150 * 2, rel=TEMPO_TOL)
    assert rep["octave_error"] == -1 and rep["shift_semitones"] == 0
    assert any("INPUT key unclear" in n for n in rep["notes"])
    done = subprocess.run(
        [*run, "missing.wav"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1 and done.stderr == "error: missing.wav: file not found\n"
    assert done.stdout == ""


@pytest.mark.parametrize("bpm", [60, 80, 110, 160, 174, 190])
def test_tempo_is_never_off_by_more_than_an_octave(bpm):
    """Across the range, an estimate may be half or double (the issue allows it), never
    2/3 or 3/4: four-on-the-floor at 160 and 174 BPM read 2/3 before the half-beat term."""
    for pattern in ("rock", "four_floor", "breakbeat", "halftime"):
        a = analyse(drum_loop(bpm, pattern, seed=bpm), SR)
        assert octave_error(a.tempo.bpm, bpm, TEMPO_TOL) in (-1, 0, 1), (pattern, a.tempo)
