"""Command-line flags and TOML config files for ``creative-agent train``.

Every ``TrainConfig`` field becomes a flag of the same name (``--lr 1e-3``); a bool
field ``x`` becomes ``--x`` / ``--no_x``. The help text is the field's
``metadata["help"]`` in ``training/config.py``. Launch options that are not part of the config: ``--config FILE``
(TOML, flat ``key = value`` with field names), ``--resume [CKPT]``, ``--nproc N`` and
``--print_config``, ``--max_restarts R``.

Precedence: ``TrainConfig`` defaults < preset (``--preset``, else the TOML's ``preset``,
else ``default``; ``none`` for bare defaults) < TOML values < explicit flags. When
resuming, the checkpoint's stored config takes the place of defaults + preset.
"""

from __future__ import annotations

import argparse
import dataclasses
import tomllib
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.config import TrainConfig
from training.presets import PRESETS, preset_overrides

DEFAULT_PRESET = "default"
NO_PRESET = "none"


@dataclass(frozen=True)
class RunArgs:
    """A parsed command line: the resolved ``cfg``, the checkpoint to ``resume`` from (None:
    fresh start), the number of processes to launch (``nproc``; None: this process
    trains) and whether to only print the config (``print_config``)."""

    cfg: TrainConfig
    resume: Path | None
    nproc: int | None
    print_config: bool
    max_restarts: int = 0


def field_types() -> dict[str, type]:
    """``TrainConfig`` field name -> its Python type (float, int, str or bool)."""
    hints = typing.get_type_hints(TrainConfig)
    return {f.name: hints[f.name] for f in dataclasses.fields(TrainConfig)}


def field_help() -> dict[str, str]:
    """``TrainConfig`` field name -> its help text (``metadata["help"]``; "" if none)."""
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(TrainConfig)}


def build_parser(prog: str = "creative-agent train") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Train the creative agent (one process, or DDP under torchrun / --nproc). "
        "Precedence: preset < --config TOML < flags.",
        argument_default=argparse.SUPPRESS,
    )
    launch = parser.add_argument_group("launch")
    launch.add_argument("--config", metavar="FILE", help="TOML file of option = value lines")
    launch.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        metavar="CKPT",
        help="continue from CKPT (default: OUT/last.pt)",
    )
    launch.add_argument(
        "--nproc",
        type=int,
        metavar="N",
        help="start N processes with torchrun (DDP) on this machine",
    )
    launch.add_argument(
        "--max_restarts",
        type=int,
        metavar="R",
        help="with --nproc: torchrun restarts the workers up to R times after a failure; "
        "they resume from the newest checkpoint in OUT (default 0)",
    )
    launch.add_argument(
        "--print_config", action="store_true", help="print the resolved config as TOML and exit"
    )
    opts = parser.add_argument_group("training options (TrainConfig fields)")
    helps = field_help()
    defaults = TrainConfig()
    for name, typ in field_types().items():
        text = helps.get(name, "")
        default = getattr(defaults, name)
        if typ is bool:
            opts.add_argument(
                f"--{name}",
                dest=name,
                action="store_const",
                const=True,
                help=f"{text} [TrainConfig default: {'on' if default else 'off'}]",
            )
            opts.add_argument(
                f"--no_{name}", dest=name, action="store_const", const=False, help=f"{name} off"
            )
            continue
        extra: dict[str, Any] = {}
        if name == "preset":
            extra["choices"] = [*PRESETS, NO_PRESET]
            text = f"starting values; default: {DEFAULT_PRESET}"
        opts.add_argument(
            f"--{name}",
            type=typ,
            metavar=typ.__name__.upper(),
            help=f"{text} [TrainConfig default: {default!r}]",
            **extra,
        )
    return parser


def coerce_options(raw: dict[str, Any], source: str) -> dict[str, Any]:
    """Check names and types of ``raw`` (from TOML or a checkpoint) against ``TrainConfig``;
    ints are accepted for float fields. Raises ValueError naming ``source`` and the key."""
    types = field_types()
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in types:
            raise ValueError(f"{source}: unknown training option {key!r}")
        typ = types[key]
        ok = (
            isinstance(value, bool)
            if typ is bool
            else (isinstance(value, int | float) and not isinstance(value, bool))
            if typ is float
            else isinstance(value, typ) and not isinstance(value, bool)
        )
        if not ok:
            raise ValueError(f"{source}: option {key!r} must be {typ.__name__}, got {value!r}")
        out[key] = float(value) if typ is float else value
    return out


def load_toml(path: str | Path) -> dict[str, Any]:
    """Options from a flat TOML file (``lr = 1e-3``, ``preset = "seed_fixed"``)."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise ValueError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from exc
    return coerce_options(raw, str(path))


def to_toml(cfg: TrainConfig) -> str:
    """``cfg`` as a flat TOML document that ``load_toml`` reads back."""
    lines = []
    for key, value in cfg.to_dict().items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str):
            text = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        else:
            text = repr(value)
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


def resolve(
    flags: dict[str, Any], toml: dict[str, Any], stored: dict[str, Any] | None = None
) -> TrainConfig:
    """Merge the layers. ``stored``: a checkpoint's config (resume), which replaces
    defaults + preset."""
    if stored is not None:
        base = coerce_options(stored, "checkpoint train_config")
        if "preset" in flags and flags["preset"] != stored.get("preset"):
            raise ValueError("--preset cannot change when resuming (the run keeps its config)")
    else:
        name = flags.get("preset", toml.get("preset", DEFAULT_PRESET))
        base = {"preset": ""} if name == NO_PRESET else preset_overrides(name)
    merged = {**base, **{k: v for k, v in toml.items() if k != "preset"}, **flags}
    if merged.get("preset") == NO_PRESET:
        merged["preset"] = ""
    return dataclasses.replace(TrainConfig(), **merged)


def parse_args(argv: list[str]) -> RunArgs:
    """Parse ``creative-agent train`` arguments into a resolved config (exits with a usage
    error on bad flags; raises ValueError for a bad config file or value)."""
    from training.checkpoint import read_checkpoint

    ns = vars(build_parser().parse_args(argv))
    config_path = ns.pop("config", None)
    resume_arg = ns.pop("resume", None)
    nproc = ns.pop("nproc", None)
    max_restarts = int(ns.pop("max_restarts", 0))
    if max_restarts < 0:
        raise ValueError(f"--max_restarts must be >= 0, got {max_restarts}")
    print_config = bool(ns.pop("print_config", False))
    if nproc is not None and nproc < 1:
        raise ValueError(f"--nproc must be >= 1, got {nproc}")
    toml = load_toml(config_path) if config_path else {}
    resume: Path | None = None
    stored: dict[str, Any] | None = None
    if resume_arg is not None:
        if resume_arg == "auto":
            out = ns.get("out", toml.get("out", TrainConfig().out))
            resume = Path(out) / "last.pt"
        else:
            resume = Path(resume_arg)
            if "out" not in ns and "out" not in toml:
                ns["out"] = str(resume.parent)
        stored = dict(read_checkpoint(resume).get("train_config") or {})
        if not stored:
            raise ValueError(f"{resume}: checkpoint holds no training config; cannot resume")
    cfg = resolve(ns, toml, stored)
    return RunArgs(
        cfg=cfg, resume=resume, nproc=nproc, print_config=print_config, max_restarts=max_restarts
    )
