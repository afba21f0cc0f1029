"""``python -m bench.faults [--out DIR] [--record FILE]``: the cost of a fault in an elastic run.

A tiny 2-process CPU job (``creative-agent train --nproc 2 --max_restarts 1``, step
checkpoints every :data:`EVERY` steps) is started; halfway between two step checkpoints
rank 1 is SIGKILLed. Measured: the seconds from the kill to training resumed (the
``resumed at epoch E step S after restart 1`` line in ``train.log``: torchrun noticed the
failure, stopped the group, restarted it, the processes imported torch, rendezvoused,
read the checkpoint and rebuilt the validation set) and the steps lost (the steps done
since the newest checkpoint, estimated from the time per step between two checkpoints;
at most ``EVERY - 1``). ``--record docs/faults.json`` keeps the figures; ``make bench``
puts them in ``docs/benchmarks.md`` (:func:`md_faults`)."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from plugin_host.atomic import write_json

EVERY = 4
FLAGS = [
    "--preset", "default", "--model_size", "tiny", "--epochs", "2", "--steps_per_epoch", "16",
    "--batch_size", "2", "--crop_seconds", "0.5", "--train_pairs", "16", "--valid_pairs", "1",
    "--valid_seconds", "0.5", "--device", "cpu", "--no_progress",
    "--checkpoint_every", str(EVERY),
]  # fmt: skip
RESUMED = re.compile(r"resumed at epoch (\d+) step (\d+) after restart (\d+)")


def worker_pid(out: Path, rank: int) -> int | None:
    """The pid of the first-generation torchrun worker of ``rank`` training into ``out``
    (found in /proc: its command line names ``out``, its environment ``RANK``)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:  # gone, or not ours
            continue
        ours = str(out).encode() in cmdline and b"training.train" in cmdline
        first = f"RANK={rank}".encode() in environ and b"TORCHELASTIC_RESTART_COUNT=0" in environ
        if ours and first:
            return int(entry.name)
    return None


def _wait_for(path: Path, proc: subprocess.Popen[str], deadline: float) -> float:
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{path} never appeared")
        time.sleep(0.01)
    return time.monotonic()


def measure(out: Path, timeout_s: float = 600.0) -> dict[str, Any]:
    """Run the job into ``out`` and return the figures (see the module docstring)."""
    from training.run_checkpoints import step_path

    cmd = [sys.executable, "-m", "training.train", *FLAGS, "--out", str(out),
           "--nproc", "2", "--max_restarts", "1"]  # fmt: skip
    deadline = time.monotonic() + timeout_s
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as p:
        t_a = _wait_for(step_path(out, EVERY), p, deadline)
        t_b = _wait_for(step_path(out, 2 * EVERY), p, deadline)
        step_s = (t_b - t_a) / EVERY
        time.sleep(step_s * EVERY / 2)  # halfway to the next checkpoint
        pid = worker_pid(out, 1)
        if pid is None:
            raise RuntimeError("rank 1 not found")
        os.kill(pid, signal.SIGKILL)
        t_kill = time.monotonic()
        log = out / "train.log"
        while not (m := RESUMED.search(log.read_text(encoding="utf-8") if log.exists() else "")):
            if p.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the run never resumed")
            time.sleep(0.05)
        t_resumed = time.monotonic()
        _, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
    if p.returncode != 0:
        raise RuntimeError(f"training exited {p.returncode}: {err.strip()[-500:]}")
    return {
        "command": " ".join(["creative-agent train", *cmd[3:]]),
        "seconds_per_step": round(step_s, 3),
        "killed_after_checkpoint_step": 2 * EVERY,
        "resumed_epoch": int(m.group(1)),
        "resumed_step": int(m.group(2)),
        "restart": int(m.group(3)),
        "kill_to_resumed_s": round(t_resumed - t_kill, 2),
        "steps_lost_estimate": round((t_kill - t_b) / step_s, 1),
        "steps_lost_bound": EVERY - 1,
        "load_average": os.getloadavg(),
    }


RECORD = "faults.json"  # beside benchmarks.md: bench.run reads it from its --out folder


def md_faults(r: dict[str, Any]) -> list[str]:
    """The benchmark document's fault section, from ``r["faults"]`` (a :func:`measure`
    record), or nothing when no fault was measured."""
    f = r.get("faults")
    if not f:
        return []
    load = ", ".join(f"{x:.1f}" for x in f["load_average"])
    return [
        "## 10. Faults (`python -m bench.faults --record docs/faults.json`, not timed by `make bench`)",
        "",
        "| fault | kill → training resumed (s) | steps lost (estimated) | s per step | bound |",
        "|---|---:|---:|---:|---|",
        f"| rank 1 of 2 SIGKILLed halfway between step checkpoints (every {f['steps_lost_bound'] + 1} "
        f"steps), `--max_restarts 1` | {f['kill_to_resumed_s']:.1f} | "
        f"{f['steps_lost_estimate']:.1f} | {f['seconds_per_step']:.3f} | "
        f"at most checkpoint_every − 1 = {f['steps_lost_bound']} |",
        "",
        f"Resumed at epoch {f['resumed_epoch']} step {f['resumed_step']} after restart "
        f"{f['restart']}. The time is torchrun noticing the failure, stopping and restarting the "
        "group, the new processes importing torch, rendezvousing, reading the checkpoint and "
        f"rebuilding the validation set; load average {load} while measuring (nice 19, another "
        f"training running). Command: `{f['command']}`.",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.faults",
        description="Time from a SIGKILLed worker to training resumed, and the steps lost.",
    )
    parser.add_argument("--out", type=Path, help="run folder (default: a temporary one)")
    parser.add_argument("--record", type=Path, help=f"also write the figures to FILE ({RECORD})")
    args = parser.parse_args(argv)
    if args.out is not None:
        result = measure(args.out)
    else:
        with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
            result = measure(Path(tmp) / "run")
    if args.record is not None:
        write_json(args.record, result, overwrite=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
