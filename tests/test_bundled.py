"""The bundled default model (plugin_host/models/default.onnx): the file the model card
describes, loadable by the host, and what a render without --model uses."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from pedalboard.io import AudioFile

from plugin_host.bundled import DEFAULT_CHECKPOINT, DEFAULT_ONNX, resolve_model, sha256
from plugin_host.runtime import load_model
from tests.helpers import chord, click_track

REPO = Path(__file__).resolve().parents[1]
CARD = REPO / "docs" / "model-card.md"


def _card_sha(name: str) -> str:
    m = re.search(rf"`{re.escape(name)}` sha256: `([0-9a-f]{{64}})`", CARD.read_text())
    assert m, f"docs/model-card.md names no sha256 for {name}"
    return m.group(1)


def test_bundled_files_match_the_model_card() -> None:
    assert sha256(DEFAULT_ONNX) == _card_sha("default.onnx")
    assert sha256(DEFAULT_CHECKPOINT) == _card_sha("default.pt")


def test_bundled_model_loads_with_its_metadata() -> None:
    model = load_model(DEFAULT_ONNX, provider="cpu")
    assert model.metadata.sample_rate == 44100
    assert model.provider == "CPUExecutionProvider"


def test_no_model_means_the_bundled_one() -> None:
    path, label = resolve_model(None)
    assert path == DEFAULT_ONNX and "bundled" in label
    assert resolve_model("x.onnx")[0] == Path("x.onnx")


def test_render_without_model_uses_the_bundled_one(tmp_path: Path) -> None:
    """A real render through the CLI with no --model: it names the bundled model and the
    report records it."""
    for name, x in (("x.wav", click_track(1.0)), ("y.wav", chord(1.0))):
        with AudioFile(str(tmp_path / name), "w", 44100, 2) as f:
            f.write(np.asarray(x, np.float32))
    cmd = [sys.executable, "-m", "plugin_host.cli", "render", "--input", "x.wav",
           "--target", "y.wav", "-o", "out.wav", "--json", "--no-progress"]  # fmt: skip
    out = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert Path(report["model"]["path"]).resolve() == DEFAULT_ONNX.resolve()
    assert "bundled default" in out.stderr
    assert (tmp_path / "out.wav").is_file()
