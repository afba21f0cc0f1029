"""Flat memory: a render streams, so a 12x longer clip pair needs about the same peak memory.

Each render runs in a fresh child process that reports its own peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``). Measured here: 10 s -> ~155 MB, 120 s ->
~165 MB, 600 s -> ~168 MB (docs/host.md); the test allows 1.5x for 120 s vs 10 s (the issue
asks <= 2x for 600 s vs 10 s; 600 s takes too long to write for the suite).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

GENERATE = """
import sys
import numpy as np
from pedalboard.io import AudioFile
seconds, stem = float(sys.argv[1]), sys.argv[2]
sr = 44100
rng = np.random.default_rng(0)
t = np.arange(10 * sr) / sr
clicks = np.zeros(10 * sr, np.float32)
clicks[:: sr // 2] = 1.0
env = np.convolve(clicks, np.exp(-np.arange(2000) / 300.0))[: 10 * sr]
x = (0.4 * env * rng.standard_normal(10 * sr)).astype(np.float32)
y = (0.2 * sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))).astype(np.float32)
with AudioFile(stem + "_in.wav", "w", sr, 2) as fi, AudioFile(stem + "_tg.wav", "w", sr, 2) as ft:
    for _ in range(int(seconds // 10)):  # 10 s blocks: the generator itself stays small
        fi.write(np.stack([x, 0.9 * x]))
        ft.write(np.stack([y, y]))
"""

MEASURE = """
import json, resource, sys
from plugin_host.renderer import render
stem, model = sys.argv[1], sys.argv[2]
rep = render(stem + "_in.wav", stem + "_tg.wav", model, stem + "_out.wav")
print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "seconds": rep["durations_s"]["output"], "torch": "torch" in sys.modules}))
"""


def peak_rss(tmp_path: Path, seconds: int, model: Path) -> dict:
    stem = str(tmp_path / f"p{seconds}")
    subprocess.run([sys.executable, "-c", GENERATE, str(seconds), stem], check=True)
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, stem, str(model)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_peak_memory_is_flat_in_clip_length(tmp_path: Path, tiny_onnx: Path):
    short = peak_rss(tmp_path, 10, tiny_onnx)
    long = peak_rss(tmp_path, 120, tiny_onnx)
    assert short["seconds"] == 10 and long["seconds"] == 120
    assert not short["torch"] and not long["torch"]
    ratio = long["peak_mb"] / short["peak_mb"]
    assert ratio < 1.5, f"10 s: {short['peak_mb']:.0f} MB, 120 s: {long['peak_mb']:.0f} MB"
