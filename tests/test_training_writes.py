"""Every file that training and export write goes through ``plugin_host/atomic.py``
(issue 11 item 2): mode from the umask (not mkstemp's 0600, nor a forced 0644), nothing
left beside the file, nothing at the destination when the write fails."""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from export.onnx_export import build_core_proto, write_atomic
from tests.helpers import make_tiny_agent
from training.audio_files import write_audio
from training.checkpoint import save_checkpoint
from training.curves import save_png
from training.data.cli import main as demo_data_main
from training.logbook import MetricsLog

ROOT = Path(__file__).resolve().parents[1]
# the modules of training/ and export/ that write files; none may hand-roll a temp file
WRITERS = [
    *sorted((ROOT / "training").rglob("*.py")),
    ROOT / "export" / "onnx_export.py",
    ROOT / "export" / "parity.py",
]
HAND_ROLLED = re.compile(r"mkstemp|NamedTemporaryFile|os\.replace\(|os\.rename\(|\.tmp\b")


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _metrics(path: Path) -> Path:
    log = MetricsLog(path)
    log.append({"epoch": 1, "loss": 0.5})
    log.append({"epoch": 2, "loss": 0.4})
    log.keep_until(1)  # rewritten atomically
    assert [r["epoch"] for r in log.read()] == [1]
    return path


def _png(path: Path) -> Path:
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [1, 0])
    return save_png(fig, path)


WRITES: dict[str, tuple[str, Callable[[Path], object]]] = {
    "checkpoint": ("best_model.pt", lambda p: save_checkpoint(p, make_tiny_agent())),
    "metrics": ("metrics.jsonl", _metrics),
    "curves": ("curves.png", _png),
    "onnx": ("model.onnx", lambda p: write_atomic(build_core_proto(make_tiny_agent()), p)),
    "audio": (
        "out.flac",
        lambda p: write_audio(p, np.zeros((2, 441), np.float32), 44100, overwrite=False),
    ),
}


@pytest.mark.parametrize("what", sorted(WRITES))
def test_files_take_their_mode_from_the_umask(what: str, tmp_path: Path) -> None:
    """Under umask 027 a file is 0640: the checkpoint, curves and ONNX writers used to force
    0644 (and mkstemp makes 0600 where nobody chmods)."""
    name, write = WRITES[what]
    path = tmp_path / name
    with umask(0o027):
        write(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temp left beside it


def test_demo_data_files_take_their_mode_from_the_umask(tmp_path: Path) -> None:
    out = tmp_path / "clips"
    with umask(0o077):
        assert demo_data_main([str(out), "--pairs", "1", "--seconds", "0.5"]) == 0
    files = sorted(out.iterdir())
    assert [p.name for p in files] == ["input_000.wav", "manifest.json", "target_000.wav"]
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o600}


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ck.pt"
    path.write_bytes(b"the old one")

    class Unpicklable:
        def __reduce__(self) -> tuple[object, ...]:
            raise RuntimeError("cannot pickle this")

    with pytest.raises(RuntimeError, match="cannot pickle"):
        save_checkpoint(path, make_tiny_agent(), extra=Unpicklable())
    assert path.read_bytes() == b"the old one"
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]


@pytest.mark.parametrize("module", WRITERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_hand_written_temp_and_rename(module: Path) -> None:
    """One write pattern, defined once in plugin_host/atomic.py."""
    hits = [
        f"{module.name}:{n}: {line.strip()}"
        for n, line in enumerate(module.read_text(encoding="utf-8").splitlines(), 1)
        if HAND_ROLLED.search(line)
    ]
    assert hits == []
