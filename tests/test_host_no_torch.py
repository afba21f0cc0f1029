"""The host never imports torch (nor model/, training/, export/): checked in fresh
interpreters after importing and after a real render, and statically over its sources."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from pedalboard.io import AudioFile

from tests.helpers import chord, click_track

HOST = Path(__file__).resolve().parents[1] / "plugin_host"
FORBIDDEN = ("torch", "torchaudio", "model", "training", "export")


def run(code: str, cwd: Path | None = None) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=cwd
    )
    assert done.returncode == 0, done.stderr
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return result


LOADED = "sorted(m for m in sys.modules if m.split('.')[0] in {})".format(
    set(FORBIDDEN) | {"onnxruntime", "pedalboard", "scipy", "matplotlib"}
)


def test_import_plugin_host_is_light():
    got = run(f"import json, sys, plugin_host; print(json.dumps({LOADED}))")
    assert got == [], got


def test_host_modules_import_without_torch():
    """Every module of plugin_host (found on disk, so a new one is covered too)."""
    mods = sorted(
        ".".join(p.relative_to(HOST).with_suffix("").parts)
        for p in HOST.rglob("*.py")
        if p.name != "__init__.py"
    )
    assert "renderer" in mods and "measures.clip" in mods
    code = (
        "import json, sys\n"
        + "".join(f"import plugin_host.{m}\n" for m in mods)
        + "from plugin_host import render, Chain, RenderError, RenderCancelled\n"
        + f"print(json.dumps([m for m in {LOADED} if m.split('.')[0] in {FORBIDDEN!r}]))"
    )
    assert run(code) == []


def test_a_render_through_the_cli_never_imports_torch(tmp_path: Path, tiny_onnx: Path):
    for name, x in (("x.wav", click_track(1.0)), ("y.wav", chord(0.4))):
        with AudioFile(str(tmp_path / name), "w", 44100, 2) as f:
            f.write(x.astype(np.float32))
    code = (
        "import json, sys\n"
        "from plugin_host.cli import main\n"
        f"rc = main(['render', '--input', 'x.wav', '--target', 'y.wav', '--model', "
        f"{str(tiny_onnx)!r}, '-o', 'out.wav', '--plot', 'out.png'])\n"
        "print(json.dumps({'rc': rc, 'torch': 'torch' in sys.modules,"
        " 'matplotlib.pyplot': 'matplotlib.pyplot' in sys.modules}))"
    )
    got = run(code, cwd=tmp_path)
    assert got == {"rc": 0, "torch": False, "matplotlib.pyplot": False}
    assert (tmp_path / "out.wav").exists() and (tmp_path / "out.wav.json").exists()


def test_no_host_source_imports_torch_or_the_training_side():
    """Static check, so an import hidden in a rarely used function is caught too."""
    offenders = []
    for path in sorted(HOST.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_plugin_host_render_is_the_plain_function():
    """No module pretending to be a function: ``plugin_host.render`` is
    ``plugin_host.renderer.render``, before and after the module is imported."""
    code = (
        "import json, types, plugin_host\n"
        "first = plugin_host.render\n"
        "import plugin_host.renderer as r\n"
        "print(json.dumps([isinstance(first, types.FunctionType), first is r.render,"
        " plugin_host.render is r.render]))"
    )
    assert run(code) == [True, True, True]
