"""The experiment's evaluation: the final checkpoints of each run and the plain 0.5/0.5 sum
on the trainer's fixed validation set, per level condition. Per-pair measures and their
means come from ``training/validation.py`` (the numbers the trainer logs each epoch)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch

from model.agent import CreativeAgent
from plugin_host import measures as M
from training import validation
from training.checkpoint import CheckpointError, load_checkpoint, read_checkpoint
from training.config import TrainConfig
from training.distrib import DistEnv
from training.experiment_config import ExperimentConfig
from training.torch_measures import energy_share
from training.validation import KNOBS

log = logging.getLogger(__name__)

_PREFIX = "x"  # validation.aggregate's key prefix, stripped again by summarize


def conditions(gain_db: float) -> tuple[tuple[str, float], ...]:
    """(name, input gain in dB relative to the equal-level input); the names are the ones
    the trainer's validation logs (``in+12dB``, ``in-12dB``)."""
    return (("equal", 0.0), (f"in+{gain_db:g}dB", gain_db), (f"in-{gain_db:g}dB", -gain_db))


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """``validation.aggregate`` of per-pair ``records`` without its key prefix: means over
    pairs of every number, the verdict and seed criteria from the mean correlations,
    ``mixing_fraction`` and ``pairs``; plus ``noise_fraction``: pairs whose own verdict is
    noise (the experiment's checks report it; the trainer's aggregate has no such key)."""
    numbered = [{"pair": n, **r} for n, r in enumerate(records)]
    cut = len(_PREFIX) + 1
    out = {k[cut:]: v for k, v in validation.aggregate(numbered, _PREFIX).items()}
    out["noise_fraction"] = (
        sum(r.get("verdict") == "noise" for r in records) / len(records) if records else None
    )
    return out


@torch.no_grad()
def evaluate_agent(agent: CreativeAgent, vset: validation.ValidationSet) -> dict[str, Any]:
    """Per level condition: correlations, verdict, mask means, onset/chroma at knob 0.5 and
    the energy share at every knob of ``KNOBS`` (means over the validation pairs)."""
    agent.eval()
    result: dict[str, Any] = {}
    for cond, db in conditions(vset.gain_db):
        g = 10.0 ** (db / 20.0)
        records = []
        for n in range(vset.inputs.shape[0]):
            x, y = vset.inputs[n] * g, vset.targets[n]
            k = len(KNOBS)
            out = agent(x.expand(k, -1, -1), y.expand(k, -1, -1), torch.tensor(KNOBS))
            share = energy_share(
                out.input_mask, out.target_mask, out.input_band_power, out.target_band_power,
                agent.dsp.band_sizes,
            ).tolist()  # fmt: skip
            mid = KNOBS.index(0.5)
            rec: dict[str, Any] = {**validation.correlations(out.audio[mid], x, y)}
            rec.update(validation.spectral_measures(agent, out.audio[mid], x, y))
            rec["input_mask_mean"] = float(out.input_mask[mid].mean())
            rec["target_mask_mean"] = float(out.target_mask[mid].mean())
            rec.update({f"energy_share@{kb:g}": s for kb, s in zip(KNOBS, share, strict=True)})
            records.append(rec)
        result[cond] = summarize(records)
    return result


@torch.no_grad()
def evaluate_sum(agent: CreativeAgent, vset: validation.ValidationSet) -> dict[str, Any]:
    """The plain 0.5/0.5 sum of the same pairs, same measures (``agent`` only lends its
    STFT). Its energy share is the least-squares share of ``plugin_host.measures``."""
    result: dict[str, Any] = {}
    for cond, db in conditions(vset.gain_db):
        g = 10.0 ** (db / 20.0)
        records = []
        for n in range(vset.inputs.shape[0]):
            x, y = vset.inputs[n] * g, vset.targets[n]
            mix = 0.5 * x + 0.5 * y
            rec: dict[str, Any] = {
                **validation.correlations(mix, x, y),
                **validation.spectral_measures(agent, mix, x, y),
            }
            rec["ls_share_input"] = M.ls_decomposition(mix.numpy(), x.numpy(), y.numpy())[
                "share_input"
            ]
            records.append(rec)
        result[cond] = summarize(records)
    return result


def validation_set(exp: ExperimentConfig, sample_rate: int) -> validation.ValidationSet:
    """The trainer's fixed validation pairs, all of them in this process."""
    cfg = TrainConfig(
        valid_pairs=exp.valid_pairs,
        valid_seconds=exp.valid_seconds,
        valid_gain_db=exp.valid_gain_db,
    )
    env = DistEnv(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"), backend=None)
    return validation.build(cfg, sample_rate, env)


MODELS = ("last", "best")  # last.pt (the end of training) and best_model.pt (selected)


def models_of(run: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(which, model record) of a run's evaluated checkpoints, in ``MODELS`` order."""
    return [(which, run["models"][which]) for which in MODELS if which in run.get("models", {})]


def curve(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        dict(
            epoch=r.get("epoch"),
            valid_input_corr=r.get("valid/output_input_corr"),
            valid_target_corr=r.get("valid/output_target_corr"),
            train_input_corr=r.get("train/output_input_corr"),
            train_target_corr=r.get("train/output_target_corr"),
            valid_share_error=r.get("valid/share_error"),
        )
        for r in records
    ]


def evaluate_run(
    run: dict[str, Any],
    run_dir: Path,
    exp: ExperimentConfig,
    vsets: dict[int, validation.ValidationSet],
) -> CreativeAgent | None:
    """Evaluate ``last.pt`` and ``best_model.pt`` of a run folder into ``run["models"]``
    ({"last"|"best": {"epoch", "eval", "eval_seconds"}}). Returns the last model (None if
    there is no checkpoint; the error is logged)."""
    files = {"last": run_dir / "last.pt", "best": run_dir / "best_model.pt"}
    run["models"] = {}
    first: CreativeAgent | None = None
    for which in MODELS:
        try:
            agent = load_checkpoint(files[which])
            epoch = int(read_checkpoint(files[which]).get("epoch", 0))
        except CheckpointError as exc:
            log.error("%s: no %s model to evaluate (%s)", run_dir.name, which, exc)
            continue
        sr = agent.config.sample_rate
        if sr not in vsets:
            vsets[sr] = validation_set(exp, sr)
        t0 = time.perf_counter()
        run["models"][which] = dict(
            epoch=epoch,
            eval=evaluate_agent(agent, vsets[sr]),
            eval_seconds=time.perf_counter() - t0,
        )
        first = first or agent
    return first
