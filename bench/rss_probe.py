"""``python -m bench.rss_probe INPUT TARGET MODEL OUT [--threads N]``: render one pair
through the host in this fresh process and print one JSON line with its memory.

Run by ``bench.memory``, one process per clip length, so each peak is that render's alone.
It imports only the host (``bench/__init__`` imports nothing), and records whether torch
was imported rather than assuming it was not. Keys: ``peak_kib`` (VmHWM, the peak resident
set; ``ru_maxrss`` where /proc is missing), ``loaded_kib`` (VmRSS after imports and the model
load; null without /proc), ``render_s`` (wall seconds of the render), ``torch_imported``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

from plugin_host.renderer import render
from plugin_host.runtime import load_model


def status_kib(key: str) -> int | None:
    """A ``/proc/self/status`` entry in KiB (``VmHWM``, ``VmRSS``), None without /proc."""
    try:
        with open("/proc/self/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.rss_probe",
        description="Render one pair in this process and print its peak memory as JSON.",
    )
    p.add_argument("input", type=Path, help="INPUT audio file")
    p.add_argument("target", type=Path, help="TARGET audio file")
    p.add_argument("model", type=Path, help="exported ONNX model")
    p.add_argument("out", type=Path, help="output audio file (overwritten)")
    p.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads (default 1)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    model = load_model(args.model, provider="cpu", threads=args.threads)
    loaded = status_kib("VmRSS")
    t = time.perf_counter()
    render(args.input, args.target, model, args.out, overwrite=True)
    wall = time.perf_counter() - t
    peak = status_kib("VmHWM")
    if peak is None:  # ru_maxrss is in KiB on Linux
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    got = {
        "peak_kib": peak,
        "loaded_kib": loaded,
        "render_s": wall,
        "torch_imported": "torch" in sys.modules,
    }
    print(json.dumps(got))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
