"""The demo's chain file is valid for the host and its clip pair is written properly (the
demo itself trains: run by `make demo`); bench.pinned, the demo's neighbour in bench/."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
from pedalboard.io import AudioFile

from bench.demo import DEMO_CHAIN, write_demo_pair
from plugin_host.chain import Chain


def test_demo_chain_builds_with_real_plugins() -> None:
    chain = Chain.from_json(DEMO_CHAIN)
    assert chain.get_param("input_chain/0/threshold_db") == -18.0
    assert chain.get_param("output_chain/0/threshold_db") == -1.0


def test_demo_pair_is_written_as_readable_wavs(tmp_path: Path) -> None:
    """Step 3's pair: two stereo 16-bit WAVs at 44.1 kHz of the asked length, written through
    plugin_host.atomic (mode from the umask, no temp file left beside them)."""
    paths = write_demo_pair(tmp_path, 0.5, seed=7)
    assert [p.name for p in paths] == ["input.wav", "target.wav"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.wav", "target.wav"]
    umask = os.umask(0)
    os.umask(umask)
    for path in paths:
        with AudioFile(str(path)) as f:
            assert (f.samplerate, f.num_channels, f.frames) == (44100, 2, 22050)
            assert f.file_dtype == "int16"
            assert np.abs(f.read(f.frames)).max() > 0.01  # not silence
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_pinned_runs_the_command_on_one_core() -> None:
    """``python -m bench.pinned CORE CMD``: CMD (after exec) sees only that core."""
    core = max(os.sched_getaffinity(0))
    code = "import os; print(sorted(os.sched_getaffinity(0)))"
    done = subprocess.run(
        [sys.executable, "-m", "bench.pinned", str(core), sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"[{core}]"
