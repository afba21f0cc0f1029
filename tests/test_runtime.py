"""plugin_host.runtime: opening models with ONNX Runtime, provider choice, clear errors.

Real sessions on the tiny model exported once per test session (conftest ``tiny_onnx``);
broken and foreign files are written in code.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from plugin_host import inspect_cli
from plugin_host.model_metadata import FORMAT_VERSION, META_PREFIX, ModelLoadError, ModelMetadata
from plugin_host.runtime import (
    INPUT_NAMES,
    OUTPUT_NAMES,
    LoadedModel,
    available_cores,
    cuda_driver_present,
    load_model,
)

NO_DRIVER = not cuda_driver_present()


@pytest.fixture(scope="module")
def model(tiny_onnx: Path) -> LoadedModel:
    return load_model(tiny_onnx, provider="cpu")


def _with_meta(tiny_onnx: Path, dest: Path, **changes: str | None) -> Path:
    """A copy of the tiny model with metadata entries changed (None removes one)."""
    proto = onnx.load(tiny_onnx)
    props = {p.key: p.value for p in proto.metadata_props}
    for key, value in changes.items():
        if value is None:
            props.pop(META_PREFIX + key, None)
        else:
            props[META_PREFIX + key] = value
    onnx.helper.set_model_props(proto, props)
    onnx.save(proto, dest)
    return dest


def _foreign_model(path: Path, names: tuple[str, ...] = ("x",)) -> Path:
    """A valid ONNX model that is not ours: Identity on one float input, no metadata."""
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 4]) for n in names]
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Identity", [names[0]], ["y"])], "g", inputs, [out])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    proto.ir_version = 8
    onnx.checker.check_model(proto)
    onnx.save(proto, path)
    return path


def test_loads_with_metadata_and_runs_dynamic_shapes(model: LoadedModel) -> None:
    meta = model.metadata
    assert isinstance(meta, ModelMetadata) and meta.format_version == FORMAT_VERSION
    assert (meta.sample_rate, meta.n_fft, meta.hop, meta.n_bands) == (44100, 2048, 512, 16)
    assert model.dsp.n_bands == 16 and model.provider == "CPUExecutionProvider"
    assert tuple(i.name for i in model.session.get_inputs()) == INPUT_NAMES
    assert tuple(o.name for o in model.session.get_outputs()) == OUTPUT_NAMES
    rng = np.random.default_rng(0)
    for b, n in ((1, 1), (3, 7), (2, 500)):  # batch and frame count are dynamic
        feats = (rng.standard_normal((2, b, 16, n)) - 5).astype(np.float32)
        m_in, m_tg = model.core(feats[0], feats[1], np.full(b, 0.5, np.float32))
        assert m_in.shape == m_tg.shape == (b, 16, n) and m_in.dtype == np.float32
        assert np.all((m_in >= 0) & (m_in <= 1)) and np.all((m_tg >= 0) & (m_tg <= 1))


def test_session_options_for_an_offline_host(model: LoadedModel) -> None:
    opts = model.session.get_session_options()
    assert opts.intra_op_num_threads == available_cores()
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert opts.get_session_config_entry("session.inter_op.allow_spinning") == "0"
    assert (
        load_model(model.path, provider="cpu", threads=1)
        .session.get_session_options()
        .intra_op_num_threads
        == 1
    )


def test_auto_provider_reports_what_really_runs(
    tiny_onnx: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.INFO, logger="plugin_host.runtime"):
        m = load_model(tiny_onnx)  # provider="auto"
    assert m.provider == m.session.get_providers()[0]
    if NO_DRIVER:
        assert m.provider == "CPUExecutionProvider"
        lines = [r.getMessage() for r in caplog.records if r.name == "plugin_host.runtime"]
        assert len(lines) == 1 and "CPU" in lines[0]
    # ONNX Runtime's own provider-loading errors ("[E:onnxruntime:...") never reach the output
    assert ":onnxruntime:" not in capfd.readouterr().err


@pytest.mark.skipif(not NO_DRIVER, reason="this machine has an NVIDIA driver")
def test_cuda_required_without_driver_is_a_clear_error(tiny_onnx: Path) -> None:
    with pytest.raises(ModelLoadError, match="CUDA was requested"):
        load_model(tiny_onnx, provider="cuda")


def test_unknown_provider_is_rejected(tiny_onnx: Path) -> None:
    with pytest.raises(ValueError, match="provider must be one of"):
        load_model(tiny_onnx, provider="tpu")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p, _: p, "model file not found"),
        (lambda p, _: (p.write_bytes(b""), p)[1], "not a loadable ONNX model (empty file)"),
        (
            lambda p, _: (p.write_bytes(np.random.default_rng(0).bytes(4096)), p)[1],
            "not a loadable ONNX model",
        ),
        (
            lambda p, src: (p.write_bytes(src.read_bytes()[: src.stat().st_size * 2 // 3]), p)[1],
            "not a loadable ONNX model",
        ),
        (lambda p, _: _foreign_model(p), "not a creative-agent model (metadata missing"),
        (
            lambda p, src: _with_meta(src, p, format_version=str(FORMAT_VERSION + 1)),
            "newer than this host supports",
        ),
        (
            lambda p, src: _with_meta(src, p, band_edges="[0, 5"),
            "malformed creative-agent metadata",
        ),
        (lambda p, src: _with_meta(src, p, band_edges="[0, 5, 9]"), "metadata says 2 bands"),
        (lambda p, src: _with_meta(src, p, window="hamming"), "unsupported STFT window"),
        (lambda p, src: _with_meta(src, p, hop=None), "metadata missing: hop"),
    ],
    ids=[
        "missing",
        "empty",
        "corrupt",
        "truncated",
        "foreign",
        "newer",
        "bad-json",
        "band-mismatch",
        "window",
        "no-hop",
    ],
)
def test_bad_models_give_one_clear_error(
    make: Callable[[Path, Path], Path], message: str, tiny_onnx: Path, tmp_path: Path
) -> None:
    path = make(tmp_path / "model.onnx", tiny_onnx)
    with pytest.raises(ModelLoadError) as exc:
        load_model(path, provider="cpu")
    text = str(exc.value)
    assert message in text and str(path) in text and "\n" not in text


def test_foreign_model_with_our_metadata_has_wrong_inputs(tiny_onnx: Path, tmp_path: Path) -> None:
    path = _foreign_model(tmp_path / "f.onnx")
    src = {p.key: p.value for p in onnx.load(tiny_onnx).metadata_props}
    proto = onnx.load(path)
    onnx.helper.set_model_props(proto, src)
    onnx.save(proto, path)
    with pytest.raises(ModelLoadError, match="unexpected model inputs"):
        load_model(path, provider="cpu")


def test_metadata_describe_is_json(model: LoadedModel) -> None:
    d = model.metadata.describe()
    assert json.loads(json.dumps(d)) == d
    assert d["n_bands"] == 16 and d["channels"] == "1,2" and d["config"]["size"] == "tiny"


def test_inspect_command(
    tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert inspect_cli.main([str(tiny_onnx), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["sample_rate"] == 44100 and d["provider"] == "CPUExecutionProvider"
    assert inspect_cli.main([str(tiny_onnx)]) == 0
    assert "hann_periodic" in capsys.readouterr().out
    bad = _foreign_model(tmp_path / "foreign.onnx")
    assert inspect_cli.main([str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "not a creative-agent model" in captured.err


def test_inspect_json_gives_integer_entries_as_numbers(
    tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 11 item 10: epoch, step, n_params and opset were JSON strings ("3")."""
    path = _with_meta(
        tiny_onnx, tmp_path / "m.onnx", epoch="3", step="120", n_params="1234", opset="18"
    )
    assert inspect_cli.main([str(path), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (d["epoch"], d["step"], d["n_params"], d["opset"]) == (3, 120, 1234, 18)
    assert isinstance(d["receptive_frames"], int)
    assert inspect_cli.main([str(path)]) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert (lines["epoch"], lines["n_params"]) == ("3", "1234")


def test_inspect_shows_an_unknown_epoch_as_null(
    tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _with_meta(tiny_onnx, tmp_path / "m.onnx", epoch="", step="")
    assert inspect_cli.main([str(path), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["epoch"] is None and d["step"] is None
    assert inspect_cli.main([str(path)]) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert lines["epoch"] == "-"
