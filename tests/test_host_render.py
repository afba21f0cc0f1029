"""The host's render path with a real ORT session on the tiny exported model, real pedalboard
plugins and real files: chunked == whole, fit modes, rates, channels, chain positions, atomic
outputs and clear errors."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pedalboard.io import AudioFile

from plugin_host import Chain, RenderCancelled, RenderError, render
from plugin_host.paths import AllowedRoots
from plugin_host.pipeline import StreamingAgent, process, process_chunked
from plugin_host.report import ReportAccumulator
from plugin_host.resample import Resampler
from plugin_host.runtime import LoadedModel, load_model
from tests.helpers import chord, click_track

# Chunked vs whole: both compute the same frames exactly; what differs is float32 rounding of
# FFT batches and overlap-add order (measured <= 2.1e-7 on signals peaking ~0.9).
CHUNK_TOL = 1e-5


@pytest.fixture(scope="module")
def model(tiny_onnx: Path) -> LoadedModel:
    return load_model(tiny_onnx, provider="cpu")


def write(path: Path, x: np.ndarray, sr: float = 44100) -> Path:
    with AudioFile(str(path), "w", sr, x.shape[0], bit_depth=32) as f:
        f.write(x.astype(np.float32))
    return path


def read(path: Path) -> tuple[np.ndarray, float]:
    with AudioFile(str(path)) as f:
        return f.read(f.frames), f.samplerate


def pair(tmp_path: Path, seconds: float = 2.0, target_seconds: float = 0.7, sr: int = 44100,
         ch_in: int = 2, ch_tg: int = 2) -> tuple[Path, Path]:  # fmt: skip
    x = click_track(seconds, sr=sr, channels=ch_in)
    y = chord(target_seconds, sr=sr, channels=ch_tg)
    return write(tmp_path / f"in{sr}.wav", x, sr), write(tmp_path / f"tg{sr}.wav", y, sr)


def no_temp_files(folder: Path) -> bool:
    return not any(".partial" in p.name for p in folder.iterdir())


# ----------------------------------------------------------------- exact chunking
@pytest.mark.parametrize("channels,seconds", [(2, 3.3), (1, 1.01), (2, 0.01)])
def test_streaming_agent_equals_whole_process(model: LoadedModel, channels: int, seconds: float):
    x = click_track(seconds, channels=channels)
    y = chord(seconds, channels=channels)
    whole = process(model, x, y, 0.3).audio
    for chunk in (1, 5, 64, 10_000):
        for feed, short_first in ((777, False), (1 << 16, False), (777, True)):
            got = process_chunked(model, x, y, 0.3, chunk_frames=chunk, feed_samples=feed,
                                  short_first=short_first)  # fmt: skip
            assert got.shape == whole.shape
            np.testing.assert_allclose(got, whole, atol=CHUNK_TOL, rtol=0)


def test_streaming_agent_accepts_streams_running_ahead(model: LoadedModel):
    x, y = click_track(2.0), chord(2.0)
    agent = StreamingAgent(model, 2, x.shape[1], 0.5, chunk_frames=16)
    out = []
    agent.feed(input=x)  # the whole input first, then the target in odd pieces
    for s in range(0, y.shape[1], 10_001):
        agent.feed(target=y[:, s : s + 10_001])
        out += [e.output for e in agent.pull()]
    assert agent.done
    np.testing.assert_allclose(np.concatenate(out, 1), process(model, x, y).audio, atol=CHUNK_TOL)


def test_chunked_file_render_equals_whole_with_stateful_chains(model, tmp_path: Path):
    """Reverb tails and compressor envelopes run across chunks (reset=False), so a render
    in 3-frame chunks equals one with the whole clip in a single chunk."""
    x_path, y_path = pair(tmp_path, seconds=4.0, target_seconds=1.3, sr=48000)
    chain = {
        "input_chain": [{"plugin": "Compressor", "params": {"threshold_db": -30, "ratio": 4}}],
        "target_chain": [{"plugin": "Reverb", "params": {"room_size": 0.9, "wet_level": 0.5}}],
        "output_chain": [{"plugin": "Delay", "params": {"delay_seconds": 0.25, "mix": 0.4}},
                         {"plugin": "Limiter"}],
    }  # fmt: skip
    whole = render(x_path, y_path, model, tmp_path / "whole.wav", chain=chain, chunk_frames=10**6)
    chunked = render(x_path, y_path, model, tmp_path / "chunk.wav", chain=chain, chunk_frames=3)
    a, sr_a = read(tmp_path / "whole.wav")
    b, _ = read(tmp_path / "chunk.wav")
    assert sr_a == 48000 and a.shape == b.shape == (2, 4 * 48000)
    np.testing.assert_allclose(b, a, atol=CHUNK_TOL, rtol=0)
    assert abs(whole["output_input_corr"] - chunked["output_input_corr"]) < 1e-5
    assert abs(whole["onset_corr_input"] - chunked["onset_corr_input"]) < 1e-6


# ----------------------------------------------------------------- rates, channels, fits
@pytest.mark.parametrize("sr", [22050, 44100, 48000, 96000])
def test_any_rate_renders_at_the_input_rate(model, tmp_path: Path, sr: int):
    x_path, y_path = pair(tmp_path, seconds=1.0, target_seconds=0.4, sr=sr)
    rep = render(x_path, y_path, model, tmp_path / "out.wav")
    out, out_sr = read(tmp_path / "out.wav")
    assert out_sr == sr and out.shape == (2, sr)
    assert rep["sample_rates"] == {"input": sr, "target": sr, "model": 44100, "output": sr}
    assert np.isfinite(out).all() and np.abs(out).max() > 0.05
    # the agent mixes both clips: the output is correlated with each of them
    assert rep["output_input_corr"] > 0.1 and rep["output_target_corr"] > 0.1


def resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    r = Resampler(src, dst, x.shape[0], x.shape[1])
    return np.concatenate([r.process(x), r.process(None)], axis=1)


def test_resampler_streams_exactly_and_keeps_time():
    """Blocks of any size give the samples of one whole call (to float32 rounding, ~2e-6 on
    unit noise); an impulse lands on the same instant at the new rate (zero-phase filter);
    a 1 kHz sine survives at > 80 dB SNR (measured 105 dB)."""
    rng = np.random.default_rng(0)
    for src, dst in [(48000, 44100), (8000, 44100), (44100, 192000), (96000, 44100)]:
        x = rng.standard_normal((2, src // 3 + 7)).astype(np.float32)
        r = Resampler(src, dst, 2, x.shape[1])
        parts = [r.process(x[:, i : i + 997]) for i in range(0, x.shape[1], 997)]
        # BLAS sums blocks of different sizes in different orders: float32 rounding only
        np.testing.assert_allclose(
            np.concatenate([*parts, r.process(None)], 1), resample(x, src, dst), atol=1e-5
        )
        impulse = np.zeros((1, src), np.float32)
        impulse[0, src // 2] = 1.0
        assert int(np.argmax(resample(impulse, src, dst)[0])) == dst // 2
    t = np.arange(48000) / 48000
    y = resample(np.sin(2 * np.pi * 1000 * t)[None].astype(np.float32), 48000, 44100)[0]
    ref = np.sin(2 * np.pi * 1000 * np.arange(y.size) / 44100)
    err = (y - ref)[2000:-2000]
    assert 10 * np.log10((ref**2).mean() / (err**2).mean()) > 80


def test_resampled_render_matches_native_rate(model, tmp_path: Path):
    """A 48 kHz copy of a pair renders like the 44.1 kHz original: the render's resampling
    in and out is transparent up to the filter's band edge (broadband clicks lose a little
    above ~20 kHz, hence correlation > 0.99 rather than 1)."""
    x44, y44 = click_track(1.5), chord(0.5)
    render(write(tmp_path / "x44.wav", x44), write(tmp_path / "y44.wav", y44), model,
           tmp_path / "o44.wav")  # fmt: skip
    x48, y48 = resample(x44, 44100, 48000), resample(y44, 44100, 48000)
    render(write(tmp_path / "x48.wav", x48, 48000), write(tmp_path / "y48.wav", y48, 48000),
           model, tmp_path / "o48.wav")  # fmt: skip
    o44, _ = read(tmp_path / "o44.wav")
    o48, sr = read(tmp_path / "o48.wav")
    assert sr == 48000 and o48.shape[1] == x48.shape[1]  # the input's length and rate
    back = resample(o48, 48000, 44100)[:, : o44.shape[1]]
    a, b = o44[:, 2000:-2000], back[:, 2000 : o44.shape[1] - 2000]
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.99


@pytest.mark.parametrize("ch_in,ch_tg", [(1, 1), (1, 2), (2, 1), (2, 2)])
def test_mono_and_stereo_follow_the_input(model, tmp_path: Path, ch_in: int, ch_tg: int):
    x_path, y_path = pair(tmp_path, seconds=1.0, ch_in=ch_in, ch_tg=ch_tg)
    rep = render(x_path, y_path, model, tmp_path / "out.wav")
    out, _ = read(tmp_path / "out.wav")
    assert out.shape == (ch_in, 44100) and rep["channels"] == ch_in


@pytest.mark.parametrize(
    "fit,in_s,tg_s,expect_s",
    [("loop", 2.0, 0.5, 2.0), ("loop", 1.0, 3.0, 1.0), ("pad", 1.0, 1.5, 1.5),
     ("pad", 1.5, 1.0, 1.5), ("trim", 2.0, 0.5, 0.5), ("trim", 0.5, 2.0, 0.5)],
)  # fmt: skip
def test_fit_modes(model, tmp_path: Path, fit: str, in_s: float, tg_s: float, expect_s: float):
    x_path, y_path = pair(tmp_path, seconds=in_s, target_seconds=tg_s)
    rep = render(x_path, y_path, model, tmp_path / "out.wav", fit=fit)
    out, _ = read(tmp_path / "out.wav")
    assert out.shape[1] == round(expect_s * 44100)
    assert rep["fit"] == fit and rep["durations_s"]["output"] == pytest.approx(expect_s)


def test_loop_repeats_the_target_under_the_input(model, tmp_path: Path):
    """With a silent input the agent's output is the masked target; looping shows up as the
    target's onset (its start) repeating every target length."""
    x = np.zeros((1, 3 * 44100), np.float32)
    y = np.zeros((1, 44100), np.float32)
    y[0, :2000] = np.hanning(2000)  # a bump at the start of each loop
    rep = render(write(tmp_path / "x.wav", x), write(tmp_path / "y.wav", y), model,
                 tmp_path / "out.wav", fit="loop")  # fmt: skip
    out, _ = read(tmp_path / "out.wav")
    energy = [float((out[0, k * 44100 : k * 44100 + 4000] ** 2).sum()) for k in range(3)]
    quiet = float((out[0, 20000:40000] ** 2).sum())
    assert min(energy) > 100 * max(quiet, 1e-12)
    assert rep["output_input_corr"] is None and "input" in rep["undefined"]["output_input_corr"]


# ----------------------------------------------------------------- chain positions
@pytest.mark.parametrize("section", ["input_chain", "target_chain", "output_chain"])
def test_every_chain_position_is_where_it_should_be(model, tmp_path: Path, section: str):
    """A chain on INPUT or TARGET equals rendering a file processed by the same plugins
    beforehand; one on the output equals processing the plain render afterwards."""
    import pedalboard

    x, y = click_track(1.5), chord(0.6)
    x_path, y_path = write(tmp_path / "x.wav", x), write(tmp_path / "y.wav", y)
    spec = [{"plugin": "HighpassFilter", "params": {"cutoff_frequency_hz": 400.0}},
            {"plugin": "Gain", "params": {"gain_db": -3.0}}]  # fmt: skip
    rep = render(x_path, y_path, model, tmp_path / "chained.wav", chain={section: spec})
    chained, _ = read(tmp_path / "chained.wav")
    board = pedalboard.Pedalboard(
        [pedalboard.HighpassFilter(cutoff_frequency_hz=400.0), pedalboard.Gain(gain_db=-3.0)]
    )
    if section == "output_chain":
        render(x_path, y_path, model, tmp_path / "plain.wav")
        expected = board(read(tmp_path / "plain.wav")[0], 44100)
    else:
        if section == "input_chain":
            x_path = write(tmp_path / "x_fx.wav", board(x, 44100))
        else:
            loop = np.concatenate([y, y, y], axis=1)[:, : x.shape[1]]  # the loop, then fx
            y_path = write(tmp_path / "y_fx.wav", board(loop, 44100))
        render(x_path, y_path, model, tmp_path / "expected.wav")
        expected = read(tmp_path / "expected.wav")[0]
    np.testing.assert_allclose(chained, expected, atol=CHUNK_TOL, rtol=0)
    assert rep["chain"][section][0]["plugin"] == "HighpassFilter"
    assert [s for s in ("input_chain", "target_chain", "output_chain") if rep["chain"][s]] == [
        section
    ]


def test_chain_object_and_file_are_accepted(model, tmp_path: Path):
    x_path, y_path = pair(tmp_path, seconds=1.0)
    spec = {"output_chain": [{"plugin": "Gain", "params": {"gain_db": -6.0}}]}
    (tmp_path / "chain.json").write_text(json.dumps(spec))
    render(x_path, y_path, model, tmp_path / "a.wav", chain=tmp_path / "chain.json")
    chain = Chain.from_json(spec)
    chain.set_param("output_chain/0/gain_db", -12.0)
    render(x_path, y_path, model, tmp_path / "b.wav", chain=chain)
    a, _ = read(tmp_path / "a.wav")
    b, _ = read(tmp_path / "b.wav")
    np.testing.assert_allclose(b, a * 10 ** (-6 / 20), atol=1e-5)


def test_windowed_plugin_in_a_chain(model, tmp_path: Path):
    """PitchShift cannot stream (pedalboard outputs silence with reset=False): the host runs
    it in crossfaded windows, so a long-enough clip still comes out whole and audible."""
    x_path, y_path = pair(tmp_path, seconds=3.5, target_seconds=1.0)
    chain = {"output_chain": [{"plugin": "PitchShift", "params": {"semitones": 3}}]}
    render(x_path, y_path, model, tmp_path / "out.wav", chain=chain)
    out, _ = read(tmp_path / "out.wav")
    rms = np.sqrt((out.reshape(2, -1, 4410) ** 2).mean(axis=(0, 2)))  # per 100 ms
    assert out.shape == (2, int(3.5 * 44100)) and rms[2:-2].min() > 0.01


# ----------------------------------------------------------------- files and errors
def test_report_plot_and_atomic_outputs(model, tmp_path: Path):
    x_path, y_path = pair(tmp_path, seconds=1.0)
    seen: list[float] = []
    rep = render(x_path, y_path, model, tmp_path / "out.flac", report_path=tmp_path / "r.json",
                 plot_path=tmp_path / "p.png", progress=seen.append)  # fmt: skip
    assert json.loads((tmp_path / "r.json").read_text()) == rep
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert seen[-1] == 1.0 and seen == sorted(seen)
    assert no_temp_files(tmp_path)
    with pytest.raises(RenderError, match="exists"):
        render(x_path, y_path, model, tmp_path / "out.flac")
    render(x_path, y_path, model, tmp_path / "out.flac", overwrite=True)


def test_cancel_and_interrupt_leave_no_file(model, tmp_path: Path):
    x_path, y_path = pair(tmp_path, seconds=4.0)
    cancel = threading.Event()

    def stop_after_first(fraction: float) -> None:
        cancel.set()

    with pytest.raises(RenderCancelled):
        render(x_path, y_path, model, tmp_path / "c.wav", progress=stop_after_first,
               cancel=cancel, report_path=tmp_path / "c.json")  # fmt: skip

    def interrupt(fraction: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        render(x_path, y_path, model, tmp_path / "k.wav", progress=interrupt)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in44100.wav", "tg44100.wav"]


def test_one_thread_report_time_is_not_counted_as_the_agents(
    tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """On one thread the report measures each chunk of frames inside the agent's step: that
    time is the report's, not the agent's too. A report made slow on purpose (50 ms per
    chunk, 7 chunks) shows in ``report`` and not in ``agent`` (the tiny model's own agent
    work on 3 s takes a few tens of ms: the bound leaves a 3x margin for a loaded machine)."""
    one = load_model(tiny_onnx, provider="cpu", threads=1)
    real = ReportAccumulator.add_folded
    calls: list[int] = []

    def slow(self: ReportAccumulator, folded: Any) -> Any:
        calls.append(1)
        time.sleep(0.05)
        return real(self, folded)

    monkeypatch.setattr(ReportAccumulator, "add_folded", slow)
    x_path, y_path = pair(tmp_path, seconds=3.0)
    rep = render(x_path, y_path, one, tmp_path / "out.wav", chunk_frames=37)
    t, slept = rep["timings_s"], 0.05 * len(calls)
    assert len(calls) == 7 and t["report"] >= slept
    assert t["agent"] < slept / 2, t
    # the stages ran in turn: together at most the render's seconds (each rounded to 0.1 ms)
    assert sum(t.values()) <= rep["render_seconds"] + 1e-3, t


def test_an_error_on_the_report_thread_fails_the_render_and_writes_nothing(
    model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The report's measures run on a thread of their own (with more than one core): an
    error there reaches the caller, and no output or report file is left."""
    assert model.dsp.workers > 1, "this test needs the threaded render"
    x_path, y_path = pair(tmp_path, seconds=4.0)

    def broken(self: ReportAccumulator, folded: object) -> None:
        raise ArithmeticError("report broke")

    monkeypatch.setattr(ReportAccumulator, "add_folded", broken)
    with pytest.raises(ArithmeticError, match="report broke"):
        render(x_path, y_path, model, tmp_path / "out.wav", report_path=tmp_path / "out.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in44100.wav", "tg44100.wav"]


@dataclass
class _NaNAfterCoreModel(LoadedModel):
    """A model whose masks turn NaN from frame 300 on (the third second)."""

    def core(self, feat_in, feat_tg, balance):  # type: ignore[no-untyped-def]
        m_in, m_tg = super().core(feat_in, feat_tg, balance)
        return m_in, np.where(np.arange(m_tg.shape[-1]) >= 300, np.nan, m_tg).astype(np.float32)


def test_a_model_producing_nan_fails_the_render_and_writes_nothing(model, tmp_path: Path):
    """The output's NaN check (on the output's thread, before the chain and the writer):
    a one-line error naming the model; no output, report or temporary file is left."""
    bad = _NaNAfterCoreModel(**{f.name: getattr(model, f.name) for f in fields(LoadedModel)})
    x_path, y_path = pair(tmp_path, seconds=4.0)
    with pytest.raises(RenderError, match=r"produced NaN or Inf samples"):
        render(x_path, y_path, bad, tmp_path / "out.wav", report_path=tmp_path / "out.json",
               share_calibration=False)  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in44100.wav", "tg44100.wav"]


def test_nan_in_the_middle_fails_late_and_writes_nothing(model, tmp_path: Path):
    x = click_track(4.0)
    x[1, 3 * 44100] = np.nan  # found only after several blocks were already written
    x_path = write(tmp_path / "x.wav", x)
    y_path = write(tmp_path / "y.wav", chord(1.0))
    with pytest.raises(RenderError, match=r"x\.wav: NaN or Inf sample at 3\.000 s"):
        render(x_path, y_path, model, tmp_path / "out.wav", report_path=tmp_path / "out.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.wav", "y.wav"]


def test_bad_inputs_give_one_line_errors_and_write_nothing(model, tmp_path: Path, tiny_onnx):
    good_x, good_y = pair(tmp_path, seconds=0.5)
    (tmp_path / "text.wav").write_text("not audio")
    (tmp_path / "empty.wav").write_bytes(b"")
    with AudioFile(str(tmp_path / "zero.wav"), "w", 44100, 2) as f:
        f.write(np.zeros((2, 0), np.float32))
    write(tmp_path / "six.wav", np.zeros((6, 1000), np.float32))
    write(tmp_path / "inf.wav", np.array([[0.0, np.inf, 0.0]], np.float32))
    out = tmp_path / "out.wav"
    cases: list[tuple[dict[str, Any], str]] = [
        (dict(input_path=tmp_path / "missing.wav"), "missing.wav: file not found"),
        (dict(input_path=tmp_path / "text.wav"), "text.wav: not a readable audio file"),
        (dict(target_path=tmp_path / "empty.wav"), "empty.wav: empty file"),
        (dict(input_path=tmp_path / "zero.wav"), "zero.wav: no audio"),
        (dict(target_path=tmp_path / "six.wav"), "six.wav: 6 channels"),
        (dict(target_path=tmp_path / "inf.wav"), "inf.wav: NaN or Inf"),
        (dict(chain={"output_chain": [{"plugin": "Reverbb"}]}), "unknown plugin 'Reverbb'; valid:"),
        (dict(chain={"input_chain": [{"plugin": "Reverb", "params": {"size": 1}}]}),
         "unknown parameter 'size' for Reverb; valid: damping, dry_level"),
        (dict(chain={"input_chain": [{"plugin": "Reverb", "params": {"room_size": 7}}]}),
         "bad value 7 for Reverb.room_size"),
        (dict(output_path=good_x), "same file as the input"),
        (dict(output_path=tmp_path / "out.txt"), "cannot write .txt"),
        (dict(output_path=tmp_path / "text.wav" / "sub" / "o.wav"), "text.wav is not a folder"),
        (dict(report_path=out), "same file as the output"),
        (dict(balance=1.5), "balance 1.5: must be between 0 and 1"),
        (dict(fit="stretch"), "fit 'stretch'"),
        (dict(model=tmp_path / "none.onnx"), "none.onnx: model file not found"),
    ]  # fmt: skip
    before = sorted(p.name for p in tmp_path.iterdir())
    for override, message in cases:
        args: dict[str, Any] = dict(
            input_path=good_x, target_path=good_y, model=model, output_path=out
        )
        args.update(override)
        with pytest.raises(RenderError) as err:
            render(**args)
        assert message in str(err.value) and "\n" not in str(err.value), str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_allow_roots(model, tmp_path: Path):
    inside = tmp_path / "root"
    inside.mkdir()
    roots = AllowedRoots([inside])
    x_path, y_path = pair(inside, seconds=0.5)
    with pytest.raises(RenderError, match="outside the allowed roots"):
        render(x_path, y_path, model, tmp_path / "out.wav", allow_roots=roots)
    (inside / "link.wav").symlink_to(tmp_path / "elsewhere.wav")
    with pytest.raises(RenderError, match="outside the allowed roots"):
        render(x_path, y_path, model, inside / "link.wav", allow_roots=roots)
    with pytest.raises(RenderError, match=r"output .*new.*: outside the allowed roots"):
        render(x_path, y_path, model, tmp_path / "new" / "out.wav", allow_roots=roots)
    assert not (tmp_path / "new").exists()
    render(x_path, y_path, model, inside / "out.wav", allow_roots=roots)
    assert (inside / "out.wav").exists() and not (tmp_path / "elsewhere.wav").exists()
    with pytest.raises(TypeError, match="AllowedRoots"):
        render(x_path, y_path, model, inside / "o2.wav", allow_roots=[inside])  # type: ignore[arg-type]
