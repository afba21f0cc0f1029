"""``creative-agent export``: parity check, metadata, atomic writes, failure paths.

Real exports of tiny models (dynamo exporter, ~1-3 s each) and real ONNX Runtime sessions;
test-time parity uses short clips (the CLI's default list adds a 31 s clip).
"""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from export import onnx_export
from export.metadata import (
    LAUNCH_ONLY_FIELDS,
    base_metadata,
    canonical_json,
    provenance_metadata,
)
from export.onnx_export import ExportResult, export_model, fresh_agent, main
from export.parity import (
    FP16_TOLERANCE,
    FP32_TOLERANCE,
    ClipSpec,
    ParityConfig,
)
from model import AgentConfig, CreativeAgent
from plugin_host.runtime import load_model
from tests.helpers import make_tiny_agent
from training.checkpoint import save_checkpoint
from training.config import TrainConfig

# Short and odd-length clips, both channel counts, the three balances and the 0.1->0.9 ramp:
# 16 cases.
TEST_PARITY = ParityConfig(
    clips=(ClipSpec("short", 0.1), ClipSpec("odd", 1.0, extra_samples=77)),
)
QUICK_PARITY = ParityConfig(clips=(ClipSpec("short", 0.25),), balances=(0.5,))
METRICS = {
    "valid/output_input_corr": 0.42,
    "valid/output_target_corr": 0.51,
    "valid/verdict": "balanced",
}


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".") or p.name.endswith(".tmp")]


@pytest.fixture(scope="module")
def tiny_agent_m() -> CreativeAgent:
    return make_tiny_agent()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, tiny_agent_m: CreativeAgent) -> ExportResult:
    """``tiny_agent_m`` exported through ``export_model`` with its parity check (once)."""
    out = tmp_path_factory.mktemp("export") / "tiny.onnx"
    meta = provenance_metadata(source="test", metrics=METRICS)
    return export_model(tiny_agent_m, out, meta, parity=TEST_PARITY, progress=False)


def test_tiny_export_passes_parity(exported: ExportResult) -> None:
    report = exported.parity
    assert report is not None and report.passed
    assert report.tolerance == FP32_TOLERANCE
    assert len(report.results) == TEST_PARITY.n_cases == 16
    assert {(r.clip, r.channels, r.balance, r.balance_end) for r in report.results} == {
        (c, ch, b, e)
        for c in ("short", "odd")
        for ch in (1, 2)
        for b, e in ((0.0, None), (0.5, None), (1.0, None), (0.1, 0.9))
    }
    assert {r.n_samples for r in report.results} == {4410, 44177}
    # the fp32 bounds, case by case
    assert report.max_abs_err <= 1e-4 and report.min_snr_db >= 60.0
    assert report.provider == "CPUExecutionProvider"
    assert exported.path.is_file() and not _leftovers(exported.path.parent)
    assert stat.S_IMODE(exported.path.stat().st_mode) == 0o644


def test_parity_report_is_json_and_names_worst(exported: ExportResult) -> None:
    assert exported.parity is not None
    d = json.loads(json.dumps(exported.parity.to_dict()))
    assert d["passed"] is True and len(d["cases"]) == 16
    assert d["worst_case"] == exported.parity.worst.name
    assert {"short/mono/balance=0.5", "odd/stereo/balance=0.1->0.9"} <= {
        c["name"] for c in d["cases"]
    }
    table = exported.parity.table().splitlines()
    assert len(table) == 17 and "SNR dB" in table[0]


def test_exported_core_matches_torch_core(
    exported: ExportResult, tiny_agent_m: CreativeAgent
) -> None:
    """The ONNX core alone, on random features with a batch of 3 and 37 frames (dynamic
    axes), agrees with the torch core to float32 round-off (< 1e-5, measured ~1e-6)."""
    import torch

    agent = tiny_agent_m
    m = load_model(exported.path, provider="cpu")
    rng = np.random.default_rng(1)
    k = agent.config.n_bands
    fi = (rng.standard_normal((3, k, 37)) * 4 - 6).astype(np.float32)
    ft = (rng.standard_normal((3, k, 37)) * 4 - 6).astype(np.float32)
    bal = np.array([0.0, 0.3, 1.0], np.float32)
    got = m.core(fi, ft, bal)
    with torch.inference_mode():
        want = agent.core(torch.from_numpy(fi), torch.from_numpy(ft), torch.from_numpy(bal))
    for g, w in zip(got, want, strict=True):
        assert g.shape == (3, k, 37)
        np.testing.assert_allclose(g, w.numpy(), atol=1e-5)


def test_checkpoint_export_metadata_round_trip(tmp_path: Path, capsys) -> None:
    agent = make_tiny_agent(seed=3)
    train = TrainConfig(epochs=3, model_size="tiny", preset="seed_fixed").to_dict()
    ckpt = save_checkpoint(
        tmp_path / "ckpt.pt", agent, train_config=train, metrics=METRICS, epoch=3, step=120
    )
    out = tmp_path / "models" / "agent.onnx"
    before = datetime.now(UTC) - timedelta(seconds=2)
    rc = main([str(ckpt), "-o", str(out), "--clips", "short", "--json"])
    printed = json.loads(capsys.readouterr().out)
    assert rc == 0 and out.is_file()
    assert printed["output"] == str(out) and printed["parity"]["passed"] is True
    # short clip x 2 channel counts x (3 balances + 1 ramp)
    assert len(printed["parity"]["cases"]) == 8

    meta = load_model(out, provider="cpu").metadata
    assert (meta.sample_rate, meta.n_fft, meta.hop, meta.window) == (
        44100,
        2048,
        512,
        "hann_periodic",
    )
    assert list(meta.band_edges) == agent.dsp.edges and meta.n_bands == 16
    assert meta.config == agent.config.to_dict()
    assert meta.channels == (1, 2) and meta.receptive_frames == agent.config.receptive_frames
    assert meta.precision == "fp32" and meta.metrics == METRICS
    x = meta.extra
    assert x["model_size"] == "tiny" and x["source"] == "checkpoint ckpt.pt"
    assert (x["epoch"], x["step"], x["opset"]) == ("3", "120", "18")
    assert json.loads(x["train_config"]) == train and x["train_preset"] == "seed_fixed"
    hashed = {k: v for k, v in train.items() if k not in LAUNCH_ONLY_FIELDS}
    assert x["train_config_sha256"] == hashlib.sha256(canonical_json(hashed).encode()).hexdigest()
    assert x["checkpoint_sha256"] == hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert x["project_version"] == version("creative-agent")
    created = datetime.strptime(x["created_utc"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= created + timedelta(seconds=1) <= datetime.now(UTC) + timedelta(seconds=2)
    assert int(x["n_params"]) == sum(p.numel() for p in agent.core.parameters())
    assert printed["metadata"]["metrics"] == METRICS


def test_inspect_prints_metadata(exported: ExportResult, capsys) -> None:
    assert main(["--inspect", str(exported.path)]) == 0
    text = capsys.readouterr().out
    assert "sample_rate" in text and "44100" in text and "CPUExecutionProvider" in text
    assert "output_input_corr 0.420, output_target_corr 0.510, verdict balanced" in text
    assert main(["--inspect", str(exported.path), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["metrics"] == METRICS and d["n_bands"] == 16 and d["format_version"] == 2
    assert d["band_edges"] == json.loads(base_metadata(make_tiny_agent())["band_edges"])


@pytest.mark.parametrize("bad", ["corrupt", "truncated", "missing"])
def test_inspect_bad_file_is_one_clear_error(
    exported: ExportResult, tmp_path: Path, bad: str, capsys
) -> None:
    path = tmp_path / f"{bad}.onnx"
    if bad == "corrupt":
        path.write_bytes(np.random.default_rng(0).bytes(5000))
    elif bad == "truncated":
        data = exported.path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    assert main(["--inspect", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err
    assert ("not found" if bad == "missing" else "not a loadable ONNX model") in err


def _perturbing(
    original: Callable[..., onnx.ModelProto],
) -> Callable[..., onnx.ModelProto]:
    """A ``build_core_proto`` that adds 1.0 to the first layer's bias of the exported
    graph: a valid ONNX model that no longer matches the torch model."""

    def build(*args: Any, **kwargs: Any) -> onnx.ModelProto:
        proto = original(*args, **kwargs)
        for i, init in enumerate(proto.graph.initializer):
            if init.name.endswith("inp.bias"):
                arr = numpy_helper.to_array(init) + np.float32(1.0)
                proto.graph.initializer[i].CopyFrom(numpy_helper.from_array(arr, init.name))
                return proto
        raise AssertionError("no inp.bias initializer in the exported graph")

    return build


def test_failing_parity_exits_nonzero_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setattr(onnx_export, "build_core_proto", _perturbing(onnx_export.build_core_proto))
    out = tmp_path / "bad.onnx"
    rc = main(["--fresh", "tiny", "-o", str(out), "--clips", "short", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1
    assert not out.exists() and not _leftovers(tmp_path)
    last = err.strip().splitlines()[-1]
    assert "parity FAILED" in last and "worst case" in last and "no file written" in last
    assert "NO" in err  # the per-case table marks failing cases


def test_failing_parity_keeps_an_existing_file(
    exported: ExportResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed re-export does not touch the model already at the output path."""
    out = tmp_path / "model.onnx"
    out.write_bytes(exported.path.read_bytes())
    monkeypatch.setattr(onnx_export, "build_core_proto", _perturbing(onnx_export.build_core_proto))
    assert main(["--fresh", "tiny", "-o", str(out), "--clips", "short", "--quiet"]) == 1
    assert out.read_bytes() == exported.path.read_bytes() and not _leftovers(tmp_path)


@pytest.mark.parametrize("size", ["tiny", "small", "base"])
def test_every_model_size_exports(size: str, tmp_path: Path) -> None:
    """Model-size presets at full size (base exports in ~2 s here, no overrides needed)."""
    agent = fresh_agent(size)
    res = export_model(agent, tmp_path / f"{size}.onnx", parity=QUICK_PARITY, progress=False)
    assert res.parity is not None
    assert res.parity.passed, res.parity.summary()
    meta = load_model(res.path, provider="cpu").metadata
    assert meta.n_bands == AgentConfig.preset(size).n_bands and meta.extra["model_size"] == size


def test_every_training_preset_exports_at_tiny_size(tmp_path: Path) -> None:
    """Each shipped training preset, with its model at tiny size, exports and records the
    preset and the hash of its training config."""
    from training.presets import PRESETS, preset_config

    for name in PRESETS:
        train = preset_config(name, model_size="tiny").to_dict()
        agent = fresh_agent(train["model_size"])
        meta = provenance_metadata(source=f"preset {name}", train_config=train)
        res = export_model(
            agent, tmp_path / f"{name}.onnx", meta, parity=QUICK_PARITY, progress=False
        )
        assert res.parity is not None and res.parity.passed
        extra = load_model(res.path, provider="cpu").metadata.extra
        assert extra["train_preset"] == name and json.loads(extra["train_config"]) == train


def test_fp16_export_passes_looser_bound(tmp_path: Path) -> None:
    res = export_model(
        make_tiny_agent(), tmp_path / "half.onnx", fp16=True, parity=QUICK_PARITY, progress=False
    )
    assert res.parity is not None and res.parity.passed
    assert res.parity.tolerance == FP16_TOLERANCE and res.parity.precision == "fp16"
    # fp16 is measurably less exact than fp32 (a check that really ran in half precision)
    assert res.parity.max_abs_err > 1e-6
    m = load_model(res.path, provider="cpu")
    assert m.metadata.precision == "fp16"
    assert [i.type for i in m.session.get_inputs()] == ["tensor(float)"] * 3
    weights = {i.data_type for i in onnx.load(res.path).graph.initializer if len(i.dims) == 3}
    assert weights == {onnx.TensorProto.FLOAT16}


def test_no_verify_writes_unverified_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "fast.onnx"
    assert main(["--fresh", "tiny", "-o", str(out), "--no-verify", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["verified"] is False and printed["parity"] is None
    assert load_model(out, provider="cpu").metadata.extra["source"].startswith("fresh tiny")


def test_bad_checkpoint_is_one_clear_error(tmp_path: Path, capsys) -> None:
    ckpt = tmp_path / "junk.pt"
    ckpt.write_bytes(b"not a checkpoint at all")
    out = tmp_path / "m.onnx"
    assert main([str(ckpt), "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(ckpt) in err and "no file written" in err
    assert not out.exists()


def test_checkpoint_of_another_shape_is_rejected(tmp_path: Path, capsys) -> None:
    """A checkpoint whose weights do not fit its stored config (hand-edited config)."""
    import torch

    ckpt = save_checkpoint(tmp_path / "c.pt", make_tiny_agent())
    payload = torch.load(ckpt, weights_only=False)
    payload["model_config"] = AgentConfig.preset("small").to_dict()
    torch.save(payload, ckpt)
    assert main([str(ckpt), "-o", str(tmp_path / "m.onnx")]) == 1
    assert "does not match the model" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["-o", "x.onnx"],  # neither checkpoint nor --fresh
        ["ckpt.pt", "--fresh", "tiny", "-o", "x.onnx"],  # both
        ["--fresh", "tiny"],  # no output
        ["--fresh", "tiny", "-o", "x.onnx", "--clips", "forever"],
        ["--fresh", "huge", "-o", "x.onnx"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_export_core_still_works(tiny_onnx: Path) -> None:
    """The minimal ``export_core`` (used by the shared fixture) writes a loadable model."""
    m = load_model(tiny_onnx, provider="cpu")
    assert m.metadata.extra["model_size"] == "tiny"
    assert (
        m.metadata.receptive_frames
        == CreativeAgent(AgentConfig.preset("tiny")).config.receptive_frames
    )
