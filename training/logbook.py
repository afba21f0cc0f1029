"""The epoch log in the seed's format, its alert rules and red flags, and ``metrics.jsonl``.

The seed document (its "Training Log Output (NEW)" block) is the contract for the lines
and their order; its emoji are copied. Where the seed's text shows a lost character
(U+FFFD after the warning sign) we print the warning sign with its emoji variation
selector, "⚠️". Lines the seed does not have (energy share, red flags, auto-balance,
validation, best model) come after the seed's own lines of the same group.

Alert rules (``plugin_host.measures.verdict``, on |corr|):
random noise if both < 0.2 (checked first); copying target if target > 2 × input;
copying input if input > 2 × target; otherwise mixing. Red flags (the seed's "Red flags",
thresholds and epochs from ``TrainConfig.red_flag_*``): |Output→Target| above 0.8 after
epoch 20, |Output→Input| below 0.3 after epoch 30 ("after epoch E" = epoch number > E,
epochs counted from 1).
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from plugin_host.atomic import write_text
from plugin_host.measures import verdict
from training.config import TrainConfig

WARN = "⚠️"

ALERT_LINES: dict[str | None, str] = {
    "mixing": "✓ Output appears to mix both sources",
    "copying_target": f"{WARN}  OUTPUT IS COPYING TARGET! (target corr >> input corr)",
    "copying_input": f"{WARN}  OUTPUT IS COPYING INPUT! (input corr >> target corr)",
    "noise": f"{WARN}  OUTPUT IS RANDOM NOISE! (both corr < 0.2 → reduce novelty_weight)",
    None: f"{WARN}  Correlations undefined (silent or constant output)",
}


def alert_line(output_input_corr: float, output_target_corr: float) -> str:
    """The seed's alert for one pair of correlations (see the module docstring)."""
    return ALERT_LINES[verdict(output_input_corr, output_target_corr)]


@dataclass(frozen=True)
class RedFlag:
    """One of the seed's red flags: ``name`` ("target_corr_high" or "input_corr_low") and
    the line printed for it."""

    name: str
    message: str


def red_flags(
    epoch: int, output_input_corr: float, output_target_corr: float, cfg: TrainConfig
) -> list[RedFlag]:
    """The red flags that fire at ``epoch`` (1-based) for these correlations."""
    ri, rt = abs(output_input_corr), abs(output_target_corr)
    flags = []
    if epoch > cfg.red_flag_target_epoch and rt > cfg.red_flag_target_corr:
        flags.append(
            RedFlag(
                "target_corr_high",
                f"🚩 RED FLAG: Output→Target corr {rt:.3f} > {cfg.red_flag_target_corr:g} "
                f"after epoch {cfg.red_flag_target_epoch} → increase loss_weight_input",
            )
        )
    if epoch > cfg.red_flag_input_epoch and ri < cfg.red_flag_input_corr:
        flags.append(
            RedFlag(
                "input_corr_low",
                f"🚩 RED FLAG: Output→Input corr {ri:.3f} < {cfg.red_flag_input_corr:g} "
                f"after epoch {cfg.red_flag_input_epoch} → increase loss_weight_input further",
            )
        )
    return flags


def format_weight(w: float) -> str:
    """A loss weight as the seed writes it: ``5.0``, ``10.0``, ``0.5``, ``0.05``."""
    return f"{w:.1f}" if round(w, 1) == w else f"{w:g}"


def _num(m: Mapping[str, Any], key: str) -> float:
    v = m.get(key)
    return float("nan") if v is None else float(v)


def format_epoch(
    epoch: int,
    epochs: int,
    m: Mapping[str, Any],
    balance_loss_weight: float,
    flags: Sequence[RedFlag] = (),
    notes: Sequence[str] = (),
) -> str:
    """The epoch block (no trailing newline).

    ``m``: the epoch's metrics with the keys ``train()`` logs: ``loss/total``,
    ``loss/balance`` (raw), ``train/{mask_reg, complementarity, overlap, input_mask_mean,
    target_mask_mean, temporal_diversity, energy_share, balance, output_input_corr,
    output_target_corr}`` and, when present, ``valid/...`` and ``baseline/...`` keys (see
    ``training/validation.py``). ``flags``: red flags to print; ``notes``: extra lines
    (auto-balance changes, best model) printed last.
    """
    ri, rt = _num(m, "train/output_input_corr"), _num(m, "train/output_target_corr")
    raw = _num(m, "loss/balance")
    lines = [
        f"Epoch {epoch}/{epochs}:",
        f"  Train Loss: {_num(m, 'loss/total'):.4f}",
        f"  🎨 Creative Agent: mask_reg={_num(m, 'train/mask_reg'):.4f}, "
        f"complementarity={_num(m, 'train/complementarity'):.1f}%, "
        f"overlap={_num(m, 'train/overlap'):.3f}",
        f"     Input mask: {_num(m, 'train/input_mask_mean'):.3f}, "
        f"Target mask: {_num(m, 'train/target_mask_mean'):.3f}",
        f"     Balance loss (raw): {raw:.4f} [×{format_weight(balance_loss_weight)} weight = "
        f"{raw * balance_loss_weight:.4f}]",
        f"     Temporal diversity: {_num(m, 'train/temporal_diversity'):.4f}",
        f"     Energy share of input: {_num(m, 'train/energy_share'):.3f} "
        f"(balance knob {_num(m, 'train/balance'):.2f}; what the mask balance loss does not control)",
        "  📊 Output Correlation Analysis:",
        f"     Output→Input corr: {ri:.3f} (closer to 1.0 = using input)",
        f"     Output→Target corr: {rt:.3f} (closer to 1.0 = copying target)",
        f"     {alert_line(ri, rt)}",
    ]
    lines += [f"  {f.message}" for f in flags]
    if "valid/output_input_corr" in m:
        lines += _validation_lines(m)
    lines += [f"  {n}" for n in notes]
    return "\n".join(lines)


def _fmt(v: Any, spec: str = ".3f") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return format(float(v), spec)


def _validation_lines(m: Mapping[str, Any]) -> list[str]:
    meets = "yes" if m.get("valid/meets_seed_criteria") else "no"
    lines = [
        f"  🧪 Validation ({m.get('valid/pairs', '?')} fixed pairs, balance 0.5, equal level):",
        f"     Output→Input corr: {_fmt(m.get('valid/output_input_corr'))}, "
        f"Output→Target corr: {_fmt(m.get('valid/output_target_corr'))} → "
        f"{m.get('valid/verdict')} (seed criteria met: {meets})",
    ]
    shares = [
        f"{k[len('valid/energy_share@') :]}→{_fmt(v)}"
        for k, v in sorted(m.items())
        if k.startswith("valid/energy_share@")
    ]
    if shares:
        lines.append(
            f"     Energy share of input per knob: {', '.join(shares)} "
            f"(mean |share−knob| {_fmt(m.get('valid/share_error'))})"
        )
    for tag in ("in+", "in-"):
        keys = [k for k in m if k.startswith(f"valid/{tag}") and k.endswith("/output_input_corr")]
        for k in sorted(keys):
            cond = k[len("valid/") : -len("/output_input_corr")]
            lines.append(
                f"     Input {cond[2:]}: Output→Input {_fmt(m.get(k))}, Output→Target "
                f"{_fmt(m.get(f'valid/{cond}/output_target_corr'))} → "
                f"{m.get(f'valid/{cond}/verdict')}, energy share "
                f"{_fmt(m.get(f'valid/{cond}/energy_share'))}"
            )
    pairs = [
        ("rhythm", "onset_corr_input", "onset_corr_target"),
        ("harmony", "chroma_cos_target", "chroma_cos_input"),
    ]
    for label, own, other in pairs:
        lines.append(
            f"     {label.capitalize()}: {own} {_fmt(m.get(f'valid/{own}'))} "
            f"(0.5/0.5 sum {_fmt(m.get(f'baseline/{own}'))}), {other} "
            f"{_fmt(m.get(f'valid/{other}'))} (sum {_fmt(m.get(f'baseline/{other}'))})"
        )
    return lines


def jsonable(value: Any) -> Any:
    """``value`` with NaN/inf floats as None and tuples as lists (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


class MetricsLog:
    """``metrics.jsonl``: one JSON object per epoch (key ``epoch``, 1-based)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def read(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        out = []
        with self.path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise ValueError(f"{self.path}:{n}: not a JSON line ({exc})") from exc
        return out

    def keep_until(self, epoch: int) -> None:
        """Drop records of epochs after ``epoch`` (0 = all), atomically (for a resume)."""
        kept = [r for r in self.read() if int(r.get("epoch", 0)) <= epoch]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(json.dumps(jsonable(r), allow_nan=False) + "\n" for r in kept)
        write_text(self.path, text)

    def append(self, record: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(jsonable(record), allow_nan=False)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())


class Logbook:
    """Writes epoch blocks to stdout and to ``train.log`` in the run folder; silent on
    every rank but rank 0 (``enabled=False``)."""

    def __init__(self, run_dir: str | Path, enabled: bool, stream: TextIO | None = None) -> None:
        self.path = Path(run_dir) / "train.log"
        self.enabled = enabled
        self.stream = stream

    def write(self, text: str) -> None:
        if not self.enabled:
            return
        stream = self.stream if self.stream is not None else sys.stdout
        try:
            stream.write(text + "\n")
        except UnicodeEncodeError:  # a terminal without UTF-8: keep the numbers
            enc = getattr(stream, "encoding", None) or "ascii"
            stream.write(text.encode(enc, "replace").decode(enc) + "\n")
        stream.flush()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(text + "\n")
