"""Section 4: peak RSS per clip length (``memory_seconds``), each render in a fresh
``python -m bench.rss_probe`` process that imports only the host."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tqdm import tqdm

from bench.audio import write_pair
from bench.config import RSS_RATIO_KEY, BenchError
from bench.context import Setup

RSS_TIMEOUT_S = 300.0  # one memory render (the 600 s clip took 3.4 s on 2 loaded cores)


def label(seconds: float) -> str:
    return f"{seconds:g}s"


def rss_child(s: Setup, seconds: float) -> dict[str, Any]:
    """Peak RSS (MiB) of a fresh process rendering a ``seconds`` pair (files deleted after)."""
    name = f"rss_{label(seconds)}"
    paths = write_pair(s.pair, seconds, s.tmp, name)
    out = s.out(name)
    cmd = [sys.executable, "-m", "bench.rss_probe", *map(str, (*paths, s.onnx_path, out))]
    cmd += ["--threads", str(s.cfg.threads)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RSS_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"memory render of {seconds:g} s: over {exc.timeout:g} s") from exc
    finally:
        for p in (*paths, out):
            p.unlink(missing_ok=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchError(f"memory render of {seconds:g} s failed (exit {proc.returncode}): {tail}")
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    loaded = got["loaded_kib"]
    return {
        "seconds": seconds,
        "peak_mib": got["peak_kib"] / 1024,
        "after_load_mib": loaded / 1024 if loaded is not None else None,
        "render_s": got["render_s"],
        "torch_imported": got["torch_imported"],
    }


def section_memory(s: Setup) -> dict[str, Any]:
    """Peak RSS of each ``memory_seconds`` render; ``rss_last_over_first`` = peak of the last
    (longest) over peak of the first (shortest), the lengths recorded as ``memory_seconds``."""
    lengths = s.cfg.memory_seconds
    rows = [rss_child(s, sec) for sec in tqdm(lengths, desc="memory", leave=False, disable=None)]
    first, last = rows[0], rows[-1]
    growth = None
    if first["after_load_mib"] is not None and last["after_load_mib"] is not None:
        growth = (last["peak_mib"] - last["after_load_mib"]) / max(
            first["peak_mib"] - first["after_load_mib"], 1e-9
        )
    return {
        "rss": {label(r["seconds"]): r for r in rows},
        "memory_seconds": list(lengths),
        RSS_RATIO_KEY: last["peak_mib"] / first["peak_mib"],
        "rss_growth_over_load": growth,
        "memory_torch_imported": any(r["torch_imported"] for r in rows),
    }
