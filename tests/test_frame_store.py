"""The streamed render's reuse of frames and buffers: the frame store keeps the frames two
chunks share instead of recomputing them, the FFTs write into given arrays, the overlap-add
reuses its storage, and the streamed agent still equals the whole render for chunk sizes
around its context, odd feeds and clips shorter than a frame."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.fft

from plugin_host import fft
from plugin_host.dsp import HostDSP
from plugin_host.frame_store import FFT_BATCH, FrameStore
from plugin_host.lanes import Lanes
from plugin_host.pipeline import (
    FrameBlock,
    StreamingAgent,
    context_frames,
    process,
    process_chunked,
)
from plugin_host.runtime import LoadedModel, load_model
from tests.helpers import chord, click_track

# Streamed vs whole: the same frames, FFT batches of other sizes and another overlap-add
# grouping: float32 rounding (tests/test_host_render.py measured <= 2.1e-7 at peak ~0.9).
CHUNK_TOL = 1e-5


@pytest.fixture(scope="module")
def model(tiny_onnx: Path) -> LoadedModel:
    return load_model(tiny_onnx, provider="cpu")


def _padded(dsp: HostDSP, x: np.ndarray) -> np.ndarray:
    """x [..., T] with the STFT's centring zeros: the samples of all 1 + T // hop frames."""
    n = dsp.n_frames(x.shape[-1])
    out = np.zeros((*x.shape[:-1], (n - 1) * dsp.hop + dsp.n_fft), np.float32)
    out[..., dsp.pad : dsp.pad + x.shape[-1]] = x
    return out


@pytest.mark.parametrize("fallback", [False, True], ids=["pocketfft-binding", "scipy.fft"])
def test_fft_equals_scipy_fft(monkeypatch: pytest.MonkeyPatch, fallback: bool) -> None:
    """plugin_host.fft's rfft / irfft are scipy.fft's, bit for bit, written into strided
    slices of bigger arrays or returned, through the binding or (without it) scipy.fft."""
    if fallback:
        monkeypatch.setattr(fft, "_binding", None)
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 64)).astype(np.float32)
    store = np.zeros((2, 3, 12, 33), np.complex64)
    got = fft.rfft(x, -1, out=store[:, :, 2:9])
    want = scipy.fft.rfft(x, axis=-1)
    assert np.shares_memory(got, store)
    np.testing.assert_array_equal(store[:, :, 2:9], want)  # the same transform: bit-equal
    assert not store[:, :, :2].any() and not store[:, :, 9:].any()  # nothing else written
    np.testing.assert_array_equal(fft.rfft(x, 2), want)
    assert fft.rfft(x, 1).dtype == np.complex64
    seg = np.zeros((3, 10, 64), np.float32)
    spec = want[0].copy()
    fft.irfft(spec, 64, 1, out=seg[:, 1:8])
    np.testing.assert_array_equal(seg[:, 1:8], scipy.fft.irfft(want[0], n=64, axis=-1))
    np.testing.assert_array_equal(spec, want[0])  # the input is left as it was
    np.testing.assert_array_equal(fft.irfft(spec, 64, 2), seg[:, 1:8])
    assert fft.irfft(spec, 64, 1).dtype == np.float32


def test_fft_binding_loads_without_scipy_fft() -> None:
    """The host's DSP loads scipy's pocketfft binding without importing scipy.fft (its
    import costs most of a cold start): checked in a fresh interpreter."""
    code = (
        "import sys, plugin_host.dsp, plugin_host.fft as f; "
        "print(f._binding is not None, 'scipy.fft' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "False"], done.stdout + done.stderr


@pytest.mark.parametrize("lanes", [1, 3])
@pytest.mark.parametrize(
    ("chunk", "context"), [(1, 3), (3, 3), (6, 3), (7, 3), (50, 2), (FFT_BATCH + 9, 4), (150, 3)]
)
def test_frame_store_holds_each_frame_as_computed_whole(chunk: int, context: int, lanes: int):
    """Walking the frames as the streamed agent does (chunk ± context), the store holds
    the spectra, per-bin and band powers of every frame of the window, each computed once
    (in batches of FFT_BATCH frames, spread over 1 or 3 threads), equal to the whole clip's."""
    dsp = HostDSP(64, 16, [0, 3, 10, 33])
    x = np.random.default_rng(2).standard_normal((2, 2, 4000)).astype(np.float32)
    whole = dsp.stft_frames(_padded(dsp, x))  # [2, C, N, F]
    power = dsp.channel_power(whole)  # [2, N, F]
    band = dsp.band_mean(power, 2)
    n = whole.shape[-2]
    store = FrameStore(dsp, 2, min(n, chunk + 2 * context), Lanes(lanes))
    computed: list[int] = []
    samples = _padded(dsp, x)

    def read(out: np.ndarray, s0: int) -> None:  # s0 is relative to the unpadded clip
        a = s0 + dsp.pad
        out[...] = samples[..., a : a + out.shape[-1]]
        computed.append(1 + (out.shape[-1] - dsp.n_fft) // dsp.hop)

    for a in range(0, n, chunk):
        c0, c1 = max(0, a - context), min(n, a + chunk + context)
        store.advance(c0, c1, read)
        assert (store.start, store.stop) == (c0, c1)
        k = c1 - c0
        np.testing.assert_allclose(store.spec[:, :, :k], whole[:, :, c0:c1], rtol=0, atol=1e-5)
        np.testing.assert_allclose(store.power[:, :k], power[:, c0:c1], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(store.band[:, :k], band[:, c0:c1], rtol=1e-5, atol=1e-6)
    assert sum(computed) == n  # every frame transformed once


def test_frame_store_refuses_to_go_back() -> None:
    dsp = HostDSP(64, 16, [0, 3, 33])
    store = FrameStore(dsp, 1, 8, Lanes(1))
    store.advance(0, 4, lambda out, s0: out.fill(0.0))
    with pytest.raises(ValueError, match="after"):
        store.advance(0, 3, lambda out, s0: out.fill(0.0))


def test_lanes_run_every_task_and_raise_after_all_finished() -> None:
    """Lanes.run calls fn(i) once for every i (the first on the calling thread) and, when
    one fails, raises its error only once every other task has finished."""
    lanes = Lanes(2)
    seen: list[int] = []
    lanes.run(seen.append, 5)
    assert sorted(seen) == [0, 1, 2, 3, 4]
    finished: list[int] = []

    def task(i: int) -> None:
        if i == 0:
            raise RuntimeError("lane 0 failed")
        finished.append(i)

    with pytest.raises(RuntimeError, match="lane 0 failed"):
        lanes.run(task, 3)
    assert sorted(finished) == [1, 2]
    serial: list[int] = []
    Lanes(1).run(serial.append, 3)
    assert serial == [0, 1, 2]


def test_overlap_add_into_reused_storage_equals_fresh() -> None:
    """The streamed overlap-add reuses one storage array chunk after chunk (the tail
    copied out first): the same sums as fresh arrays."""
    dsp = HostDSP(64, 16, [0, 3, 33])
    seg = np.random.default_rng(3).standard_normal((2, 9, 64)).astype(np.float32)
    store = np.full((2, 9 - 1 + dsp.ratio, dsp.hop), np.nan, np.float32)
    tail_a = tail_b = None
    for a, b in ((0, 4), (4, 9)):
        fresh = dsp.overlap_add(seg[:, a:b], tail_a)
        reused = dsp.overlap_add(seg[:, a:b], tail_b, out=store)
        np.testing.assert_array_equal(reused, fresh)
        keep = (b - a) * dsp.hop
        tail_a, tail_b = fresh[:, keep:], reused[:, keep:].copy()


@pytest.mark.parametrize("seconds", [1 / 44100, 511 / 44100, 2049 / 44100, 0.7])
def test_streamed_agent_equals_whole_around_its_context(model: LoadedModel, seconds: float):
    """Chunks shorter than, equal to and just above the context (and twice it), odd feed
    sizes, clips of one sample, under a hop and just over one FFT: the kept frames give the
    whole render's output."""
    ctx = context_frames(model.metadata)
    n = round(seconds * 44100)
    x, y = 0.3 * np.random.default_rng(4).standard_normal((2, 2, n)).astype(np.float32)
    whole = process(model, x, y, 0.4).audio
    for chunk in sorted({1, ctx - 1, ctx, ctx + 1, 2 * ctx, 2 * ctx + 1} - {0}):
        got = process_chunked(model, x, y, 0.4, chunk_frames=chunk, feed_samples=997)
        assert got.shape == whole.shape
        np.testing.assert_allclose(got, whole, atol=CHUNK_TOL, rtol=0)


def test_frame_blocks_tile_the_clip_with_the_whole_spectra(model: LoadedModel):
    """The report's blocks (views of the agent's buffers, copied here during the call) cover
    every frame once, in order, with the whole render's powers, bands and masks."""
    x, y = click_track(1.3), chord(1.3)
    whole = process(model, x, y, 0.5)
    dsp = model.dsp
    blocks: list[FrameBlock] = []

    def keep(block: FrameBlock) -> None:
        copies = {k: np.array(v) for k, v in vars(block).items() if isinstance(v, np.ndarray)}
        blocks.append(FrameBlock(block.start, block.stop, **copies))

    agent = StreamingAgent(model, 2, x.shape[1], 0.5, chunk_frames=11, on_frames=keep)
    for s in range(0, x.shape[1], 3001):
        agent.feed(x[:, s : s + 3001], y[:, s : s + 3001])
        agent.pull()
    assert agent.done
    assert [b.start for b in blocks] == list(range(0, dsp.n_frames(x.shape[1]), 11))
    assert all(b.stop == n.start for b, n in itertools.pairwise(blocks))
    got = {k: np.concatenate([getattr(b, k) for b in blocks]) for k in vars(blocks[0])
           if k not in ("start", "stop")}  # fmt: skip
    specs = {"in": whole.spec_in, "tg": whole.spec_tg, "out": whole.spec_out}
    for name, spec in specs.items():
        power = dsp.channel_power(np.swapaxes(spec, -1, -2))  # [N, F]
        scale = float(power.max())  # float32 FFTs of other batches: rounding of the loudest
        np.testing.assert_allclose(got[f"power_{name}"], power, rtol=1e-4, atol=1e-6 * scale)
        np.testing.assert_allclose(got[f"band_{name}"], dsp.band_mean(power, 2), rtol=1e-4,
                                   atol=1e-6 * scale)  # fmt: skip
    np.testing.assert_allclose(got["input_mask"], whole.input_mask.T, atol=1e-5)
    np.testing.assert_allclose(got["target_mask"], whole.target_mask.T, atol=1e-5)


def test_streamed_envelope_slices_equal_the_computed_envelope(model: LoadedModel) -> None:
    """The agent's periodic copy of the iSTFT normaliser, sliced for spans inside the clip,
    equals HostDSP.window_envelope of every span, the clip's edges included."""
    dsp = model.dsp
    total = 40 * dsp.hop + 77
    agent = StreamingAgent(model, 1, total, chunk_frames=6)
    n = dsp.n_frames(total)
    rng = np.random.default_rng(5)
    spans = [(0, total), (0, 3), (total - 5, total), *np.sort(rng.integers(0, total, (40, 2)))]
    for lo, hi in spans:
        want = dsp.window_envelope(n, int(lo), int(hi))
        np.testing.assert_array_equal(agent._envelope(int(lo), int(hi)), want)
