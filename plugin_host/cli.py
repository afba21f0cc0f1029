"""The ``creative-agent`` command: dispatches subcommands lazily.

Each subcommand lives in its own module with a ``main(argv) -> int``; the module is
imported only when its subcommand runs, so ``render`` and ``serve`` start without torch
(the host's own commands never import it). Commands of the training side need the full
install; without torch they fail with one clear line.

Conventions for every subcommand:

- Logging shows warnings only; ``creative-agent -v COMMAND ...`` (or a command's own
  ``-v``, where it has one) shows INFO lines too.
- Runtime errors are one line on stderr and exit status 1; usage errors (a bad or missing
  option) keep argparse's usage line and exit status 2.
- Output cut short by a closed pipe (``creative-agent render ... --json | head -1``) ends
  quietly with exit status 141 (128 + SIGPIPE, as a tool killed by SIGPIPE reports), with
  no traceback; files the command wrote before are complete.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

# name -> (module, one-line help). Host commands first; they never import torch.
COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("plugin_host.render_cli", "render one INPUT/TARGET pair through the host"),
    "render-batch": ("plugin_host.batch", "render many pairs listed in a CSV manifest"),
    "evaluate": ("plugin_host.evaluate", "judge a model on a folder of input/target pairs"),
    "serve": ("plugin_host.osc_server", "OSC control server for a DAW"),
    "inspect": (
        "plugin_host.inspect_cli",
        "print an ONNX model's metadata (same as export --inspect)",
    ),
    "demo-data": ("training.data.cli", "write built-in synthetic clip pairs as WAV"),
    "real-pairs": ("training.data.soundfont.cli", "write sampled-instrument pairs as WAV"),
    "train": ("training.train", "train the agent (torchrun for several processes)"),
    "diagnose": ("training.diagnose", "the seed's quick test: correlations of a checkpoint"),
    "experiment": ("training.experiment", "the seed-fix experiment (a benchmark, not a test)"),
    "export": ("export.onnx_export", "export a checkpoint's core to ONNX with a parity check"),
    "bench": ("bench.cli", "benchmarks: host vs torch, floor, memory, training scaling"),
    "demo": ("bench.demo", "the main job: train a small model, export, render, report"),
    "experiment-real": (
        "bench.real_instruments",
        "the real-instrument ablation (trains; ~15 min a recipe)",
    ),
    "default-model": ("bench.default_model", "regenerate the bundled model and docs/model-card.md"),
    "check-gpu": ("bench.check_gpu", "GPU paths: ORT CUDA, CUDA parity, NCCL, bench GPU (~5 min)"),
}


BROKEN_PIPE_STATUS = 141  # 128 + SIGPIPE
VERBOSE_FLAGS = ("-v", "--verbose")


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: creative-agent [-v] COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    lines += [
        "",
        "-v, --verbose: log INFO lines too (default: warnings only).",
        "Run 'creative-agent COMMAND --help' for a command's options.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = bool(args) and args[0] in VERBOSE_FLAGS
    if verbose:
        args = args[1:]
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    name, rest = args[0], args[1:]
    if name == "--version":
        from importlib.metadata import version

        print(f"creative-agent {version('creative-agent')}")
        return 0
    if name not in COMMANDS:
        print(f"creative-agent: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return _run(name, rest)
    except BrokenPipeError:
        return _quiet_broken_pipe()


def _run(name: str, rest: list[str]) -> int:
    module_name = COMMANDS[name][0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in ("torch", "torchaudio", "onnxscript"):
            print(
                f"creative-agent {name}: needs {exc.name}, which is not installed "
                "(install the full package: pip install creative-agent)",
                file=sys.stderr,
            )
            return 2
        raise
    result: int = module.main(rest)
    sys.stdout.flush()  # a closed pipe shows up here at the latest, not at exit
    return result


def _quiet_broken_pipe() -> int:
    """The reader of stdout went away: point stdout at /dev/null so the interpreter's
    final flush cannot fail again, and exit with the SIGPIPE status."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return BROKEN_PIPE_STATUS


if __name__ == "__main__":
    raise SystemExit(main())
