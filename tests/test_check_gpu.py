"""``creative-agent check-gpu`` on a machine without CUDA (``CUDA_VISIBLE_DEVICES=""``
hides any GPU, so this branch is tested everywhere): it says so and exits 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-m", "plugin_host.cli", "check-gpu", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


def test_without_cuda_it_skips_and_exits_0() -> None:
    text = _run()
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "skipped: no CUDA device"
    assert json.loads(lines[1])["skipped"] == "no CUDA device"

    as_json = _run("--json")
    assert as_json.returncode == 0, as_json.stderr
    (line,) = as_json.stdout.splitlines()  # one JSON summary, nothing else
    summary = json.loads(line)
    assert (summary["cuda"], summary["ok"], summary["skipped"]) == (False, True, "no CUDA device")
    assert summary["seconds"] >= 0
