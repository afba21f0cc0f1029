"""The ``creative-agent`` command: dispatches subcommands lazily.

Each subcommand lives in its own module with a ``main(argv) -> int``; the module is
imported only when its subcommand runs, so ``render`` and ``serve`` start without torch
(the host's own commands never import it). Commands of the training side need the full
install; without torch they fail with one clear line.
"""

from __future__ import annotations

import importlib
import logging
import sys

# name -> (module, one-line help). Host commands first; they never import torch.
COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("plugin_host.render_cli", "render one INPUT/TARGET pair through the host"),
    "render-batch": ("plugin_host.batch", "render many pairs listed in a CSV manifest"),
    "evaluate": ("plugin_host.evaluate", "judge a model on a folder of input/target pairs"),
    "serve": ("plugin_host.osc_server", "OSC control server for a DAW"),
    "inspect": ("plugin_host.runtime", "print an ONNX model's metadata (same as export --inspect)"),
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
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: creative-agent COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "Run 'creative-agent COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
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
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
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
    return result


if __name__ == "__main__":
    raise SystemExit(main())
