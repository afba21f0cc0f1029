"""The musical pre-pass wired into render (issue 12, parts 1 and 2): ``align``,
``transpose``, ``timeline``, bar loops and the report's ``alignment``, on drum and chord
loops made in code (tests/musical_clips.py), rendered by the bundled model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from musical_clips import SR, chord_loop, drum_loop, write_clip

from plugin_host.audio_io import ArrayReader, probe
from plugin_host.bundled import DEFAULT_ONNX
from plugin_host.musical.features import onset_frames, pick_onsets
from plugin_host.render_musical import check_musical, fitted_target, prepare
from plugin_host.renderer import RenderError, render
from plugin_host.runtime import LoadedModel, load_model

# The tolerances: tempo within 2 %, onsets within 20 ms of the INPUT's beat grid
# (about where listeners hear two onsets as not together).
TEMPO_TOL = 0.02
GRID_TOL_S = 0.020
LEAD_S = 0.25  # every clip's first downbeat (musical_clips)
IN_BPM, TG_BPM = 100.0, 128.0


@pytest.fixture(scope="module")
def model() -> LoadedModel:
    return load_model(DEFAULT_ONNX)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("musical")
    made = {
        "drums100": drum_loop(IN_BPM, "breakbeat"),
        "chords128": chord_loop(TG_BPM, 2, False),  # D major
        "chords76_C": chord_loop(76, 0, False),  # C major
        "chords120_2bars": chord_loop(120, 9, True, degrees=(1, 4)),  # A minor, 2 bars
        "noise": (0.1 * np.random.default_rng(0).standard_normal((2, 6 * SR))).astype(np.float32),
    }
    paths = {}
    for name, audio in made.items():
        paths[name] = d / f"{name}.wav"
        write_clip(str(paths[name]), audio)
    return paths


def test_align_tempo_puts_target_onsets_on_the_input_grid(
    clips: dict[str, Path], model: LoadedModel
) -> None:
    """The TARGET as it enters the agent (the pre-pass's array, at the model rate)."""
    rate = model.metadata.sample_rate
    info_in, info_tg = probe(clips["drums100"]), probe(clips["chords128"])
    prep = prepare(info_in, info_tg, rate, check_musical("tempo", "none", "auto"))
    assert prep.target is not None and prep.alignment is not None
    fr = onset_frames(prep.target, rate)
    onsets = pick_onsets(fr.full, fr.frame_rate)
    onsets = onsets[onsets < info_in.duration]
    period = 60.0 / IN_BPM
    err = (onsets - LEAD_S + period / 2) % period - period / 2  # to the true INPUT grid
    assert onsets.size >= 12  # 4 bars of 4 struck beats, cut at the INPUT's length
    assert np.abs(err).max() < GRID_TOL_S, err
    a = prep.alignment
    assert abs(a["input_bpm"] / IN_BPM - 1) < TEMPO_TOL
    assert abs(a["target_bpm"] / TG_BPM - 1) < TEMPO_TOL
    assert a["stretch_factor"] == pytest.approx(IN_BPM / TG_BPM, rel=TEMPO_TOL)


def test_alignment_raises_the_outputs_onset_corr_with_the_input(
    clips: dict[str, Path], model: LoadedModel, tmp_path: Path
) -> None:
    reports = {}
    for align in ("none", "tempo"):
        reports[align] = render(
            clips["drums100"], clips["chords128"], model, tmp_path / f"{align}.wav",
            balance=0.3, align=align,
        )  # fmt: skip
    assert reports["none"]["alignment"] is None  # nothing asked: no pre-pass, no key
    a = reports["tempo"]["alignment"]
    assert a["align"] == "tempo" and a["notes"] == []
    assert set(a["input_analysis"]) >= {"bpm", "key", "key_confidence", "first_downbeat_s"}
    assert reports["tempo"]["onset_corr_input"] > reports["none"]["onset_corr_input"]
    assert reports["tempo"]["timings_s"]["musical"] > 0


def test_transpose_auto_and_n_in_the_report(
    clips: dict[str, Path], model: LoadedModel, tmp_path: Path
) -> None:
    auto = render(clips["chords76_C"], clips["chords128"], model, tmp_path / "auto.wav",
                  transpose="auto")  # fmt: skip
    a = auto["alignment"]
    assert (a["input_key"], a["target_key"], a["shift_semitones"]) == ("C major", "D major", -2)
    assert a["input_key_confidence"] > 0.03 and a["target_key_confidence"] > 0.03
    assert a["stretch_factor"] == 1.0 and auto["warnings"] == []
    fixed = render(clips["chords76_C"], clips["chords128"], model, tmp_path / "n.wav",
                   transpose="+3")  # fmt: skip
    assert fixed["alignment"]["shift_semitones"] == 3 and fixed["alignment"]["transpose"] == 3


def test_auto_transpose_on_drums_does_nothing_and_says_so(
    clips: dict[str, Path], model: LoadedModel, tmp_path: Path
) -> None:
    rep = render(clips["drums100"], clips["chords128"], model, tmp_path / "d.wav",
                 transpose="auto")  # fmt: skip
    a = rep["alignment"]
    assert a["shift_semitones"] == 0 and a["input_key_confidence"] < 0.03
    (note,) = [n for n in a["notes"] if n.startswith("transpose auto")]
    assert "INPUT key unclear" in note and "no shift" in note
    assert note in rep["warnings"]


def test_fit_loop_repeats_whole_bars(clips: dict[str, Path], model: LoadedModel) -> None:
    """A 2-bar TARGET at 120 BPM under a 4-bar INPUT at 100 BPM: stretched to 100 BPM, its
    body (bars 1-2, 4.8 s) repeats from its first downbeat, copies exact."""
    rate = model.metadata.sample_rate
    info_in, info_tg = probe(clips["drums100"]), probe(clips["chords120_2bars"])
    prep = prepare(info_in, info_tg, rate, check_musical("tempo", "none", "auto"))
    total = info_in.frames
    looped, how = fitted_target(prep, "loop", total)
    assert looped is not None and looped.shape == (2, total) and how is not None
    assert how["by"] == "bars" and how["bars"] == 2
    bar_s = 4 * 60.0 / IN_BPM
    assert how["body_s"] == pytest.approx(2 * bar_s, rel=TEMPO_TOL)
    start = int(round(how["start_s"] * rate))
    assert how["start_s"] == pytest.approx(LEAD_S, abs=GRID_TOL_S)
    copy = int(round(start + how["body_s"] * rate))
    n = rate  # one second of the second copy is the body's first second
    assert np.array_equal(looped[:, copy : copy + n], looped[:, start : start + n])


def test_fit_loop_reported_by_render(
    clips: dict[str, Path], model: LoadedModel, tmp_path: Path
) -> None:
    rep = render(clips["drums100"], clips["chords120_2bars"], model, tmp_path / "l.wav",
                 align="tempo")  # fmt: skip
    assert rep["alignment"]["loop"]["by"] == "bars" and rep["alignment"]["loop"]["bars"] == 2
    assert rep["durations_s"]["output"] == pytest.approx(probe(clips["drums100"]).duration)


def test_timeline_bars_gives_the_inputs_grid(clips: dict[str, Path], model: LoadedModel) -> None:
    rate = model.metadata.sample_rate
    info_in, info_tg = probe(clips["drums100"]), probe(clips["chords128"])
    prep = prepare(info_in, info_tg, rate, check_musical("none", "none", "bars"))
    assert prep.grid is not None and prep.alignment is None
    assert abs(prep.grid.bpm / IN_BPM - 1) < TEMPO_TOL
    assert prep.grid.downbeat_s == pytest.approx(LEAD_S, abs=GRID_TOL_S)
    seconds = prepare(info_in, info_tg, rate, check_musical("tempo", "none", "seconds"))
    assert seconds.grid is None and seconds.alignment is not None
    nothing = prepare(info_in, info_tg, rate, check_musical("none", "none", "auto"))
    assert nothing.grid is None and nothing.input is None and nothing.target is None
    noise = prepare(probe(clips["noise"]), info_tg, rate, check_musical("none", "none", "bars"))
    assert noise.grid is None
    (warning,) = noise.warnings
    assert "no reliable tempo" in warning


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"align": "beat"}, "align 'beat': choose one of none, tempo"),
        ({"transpose": "up"}, "transpose 'up': use none, auto or a whole number of semitones"),
        ({"transpose": 13}, "transpose 13: at most 12 semitones either way"),
        ({"timeline": "beats"}, "timeline 'beats': choose one of auto, bars, seconds"),
    ],
)
def test_bad_musical_arguments_are_one_line_errors(
    clips: dict[str, Path], tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(RenderError) as err:
        render(clips["drums100"], clips["chords128"], DEFAULT_ONNX, tmp_path / "x.wav",
               **kwargs)  # type: ignore[arg-type]  # fmt: skip
    assert str(err.value) == message
    assert not (tmp_path / "x.wav").exists()


def test_array_reader_loops_or_pads_to_its_total() -> None:
    audio = np.arange(10, dtype=np.float32).reshape(1, 10)
    looped = ArrayReader(audio, 25, loop=True)
    parts = [looped.read(7) for _ in range(5)]
    assert [p.shape[1] for p in parts] == [7, 7, 7, 4, 0]
    assert np.array_equal(np.concatenate(parts, axis=1)[0], np.arange(25) % 10)
    padded = ArrayReader(audio, 14, loop=False)
    out = np.concatenate([padded.read(6), padded.read(6), padded.read(6)], axis=1)[0]
    assert np.array_equal(out, np.r_[np.arange(10), np.zeros(4)]) and padded.position == 14


def test_a_pre_pass_made_at_another_rate_is_refused(
    clips: dict[str, Path], model: LoadedModel, tmp_path: Path
) -> None:
    info_in, info_tg = probe(clips["drums100"]), probe(clips["chords128"])
    settings = check_musical("tempo", "none", "auto")
    prep = prepare(info_in, info_tg, 48000, settings)
    with pytest.raises(RenderError, match="made at 48000 Hz, the model runs at 44100 Hz"):
        render(clips["drums100"], clips["chords128"], model, tmp_path / "r.wav",
               align="tempo", prepared=prep)  # fmt: skip
    assert not (tmp_path / "r.wav").exists()
