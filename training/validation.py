"""The fixed validation set and its per-epoch metrics (agent and plain-sum baseline).

Pairs: ``valid_pairs`` seeded pairs from ``training.data.synth.validation_config`` (kits,
timbres and tempi that training never sees), ``valid_seconds`` long, seeds
``VALID_SEED + i``. The input is scaled to the target's RMS ("equal level"); two more
conditions put the input ``valid_gain_db`` dB above and below the target.

Per pair the agent runs once on a batch of five: balance 0.25 / 0.5 / 0.75 at equal
level, and balance 0.5 with the input at +g and -g dB. Metrics (means over pairs; a value
a pair cannot define, e.g. the correlation of a silent output, is left out of the mean):

- ``valid/output_input_corr``, ``valid/output_target_corr``: waveform Pearson
  correlations at balance 0.5, equal level (the seed's numbers); ``valid/verdict`` and
  ``valid/meets_seed_criteria`` from those two means; ``valid/mixing_fraction``: share of
  pairs whose own verdict is "mixing";
- ``valid/energy_share@K``: the input's share of the output energy after masking
  (``training.torch_measures.energy_share``) at knob K; ``valid/share_error``: mean
  |share - K| over pairs and knobs;
- ``valid/in+12dB/...`` and ``valid/in-12dB/...``: the correlations, verdict and energy
  share with the input 12 dB louder / quieter;
- ``valid/onset_corr_input``, ``valid/onset_corr_target`` (``plugin_host.measures.
  band_onset_corr`` on the agent's band powers, the same measure as the host's report),
  ``valid/chroma_cos_target``, ``valid/chroma_cos_input`` (``plugin_host.measures.
  chroma_cos`` on |STFT| from ``agent.dsp.stft``);
- the same correlations, verdict and onset/chroma for the plain 0.5/0.5 sum under
  ``baseline/...`` (computed once per run).

With several ranks each evaluates pairs ``i % world_size == rank`` and the per-pair
records are gathered, so every rank gets the same numbers, whatever the world size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from model import CreativeAgent
from plugin_host import measures as M
from training.config import TrainConfig
from training.distrib import DistEnv, all_gather_objects
from training.torch_measures import energy_share

VALID_SEED = 1_000_000  # pair i uses seed VALID_SEED + i (training pools use small seeds)
KNOBS = (0.25, 0.5, 0.75)


@dataclass(frozen=True)
class ValidationSet:
    """This rank's shard of the fixed pairs: ``index`` (pair numbers), ``inputs`` and
    ``targets`` float32 Tensor[P, C, T] at equal RMS, the +/- ``gain_db`` conditions and
    the total number of pairs over all ranks."""

    index: tuple[int, ...]
    inputs: torch.Tensor
    targets: torch.Tensor
    gain_db: float
    total: int


def equal_level(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x`` scaled to the RMS of ``y`` (arrays [C, T]; a silent ``x`` is returned as is)."""
    rx, ry = float(np.sqrt(np.mean(x * x))), float(np.sqrt(np.mean(y * y)))
    return x if rx <= 0 else (x * (ry / rx)).astype(np.float32)


def build(cfg: TrainConfig, sample_rate: int, env: DistEnv, channels: int = 2) -> ValidationSet:
    """Generate this rank's validation pairs (deterministic in ``cfg.valid_*``)."""
    from training.data.synth import generate_pair, validation_config

    scfg = validation_config(seconds=cfg.valid_seconds, sample_rate=sample_rate, channels=channels)
    index = tuple(range(env.rank, cfg.valid_pairs, env.world_size))
    xs, ys = [], []
    for i in index:
        x, y = generate_pair(scfg, VALID_SEED + i)
        xs.append(equal_level(x, y))
        ys.append(y)
    shape = (0, channels, scfg.n_samples)
    inputs = torch.from_numpy(np.stack(xs)) if xs else torch.zeros(shape)
    targets = torch.from_numpy(np.stack(ys)) if ys else torch.zeros(shape)
    return ValidationSet(index, inputs, targets, cfg.valid_gain_db, cfg.valid_pairs)


def _gain_tag(db: float) -> str:
    return f"in{'+' if db >= 0 else '-'}{abs(db):g}dB"


def spectral_measures(
    agent: CreativeAgent, out: torch.Tensor, x: torch.Tensor, y: torch.Tensor
) -> dict[str, float | None]:
    """Rhythm and harmony measures of one output [C, T] against its sources x, y [C, T]:
    band onset correlation on the agent's band powers (the host report's measure) and
    chroma cosine on |STFT| (``plugin_host.measures``)."""
    sr, n_fft = agent.config.sample_rate, agent.config.n_fft
    dev = agent.dsp.window.device
    spec = agent.dsp.stft(torch.stack([out, x, y]).float().to(dev))
    bands = agent.dsp.band_power(spec).cpu().numpy()  # [3, K, N], as the host's report
    mags = spec.abs().cpu().numpy()
    mo, mx, my = mags[0], mags[1], mags[2]  # each [C, F, N]
    return {
        "onset_corr_input": M.band_onset_corr(bands[0], bands[1]),
        "onset_corr_target": M.band_onset_corr(bands[0], bands[2]),
        "chroma_cos_target": M.chroma_cos(mo, my, sr, n_fft),
        "chroma_cos_input": M.chroma_cos(mo, mx, sr, n_fft),
    }


def correlations(out: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    """The seed's waveform correlations of out [C, T] with x and y [C, T], and its verdict."""
    o, xi, yi = (t.detach().cpu().numpy() for t in (out, x, y))
    ri, rt = M.pearson(o, xi), M.pearson(o, yi)
    return {"output_input_corr": ri, "output_target_corr": rt, "verdict": M.verdict(ri, rt)}


@torch.no_grad()
def _pair_records(
    agent: CreativeAgent, vset: ValidationSet, device: torch.device
) -> list[dict[str, Any]]:
    g = 10.0 ** (vset.gain_db / 20.0)
    records = []
    for n, i in enumerate(vset.index):
        x, y = vset.inputs[n].to(device), vset.targets[n].to(device)
        xs = torch.stack([x, x, x, x * g, x / g])
        ys = y.expand(5, -1, -1)
        bal = torch.tensor([*KNOBS, 0.5, 0.5], device=device)
        out = agent(xs, ys, bal)
        share = energy_share(
            out.input_mask, out.target_mask, out.input_band_power, out.target_band_power,
            agent.dsp.band_sizes,
        ).cpu().tolist()  # fmt: skip
        rec: dict[str, Any] = {"pair": i, **correlations(out.audio[1], x, y)}
        rec.update(spectral_measures(agent, out.audio[1], x, y))
        for k, knob in enumerate(KNOBS):
            rec[f"energy_share@{knob:g}"] = share[k]
        rec["share_error"] = float(np.mean([abs(share[k] - kb) for k, kb in enumerate(KNOBS)]))
        for k, db in ((3, vset.gain_db), (4, -vset.gain_db)):
            tag = _gain_tag(db)
            c = correlations(out.audio[k], xs[k], y)
            rec.update({f"{tag}/{name}": v for name, v in c.items()})
            rec[f"{tag}/energy_share"] = share[k]
        records.append(rec)
    return records


@torch.no_grad()
def _baseline_records(agent: CreativeAgent, vset: ValidationSet) -> list[dict[str, Any]]:
    records = []
    for n, i in enumerate(vset.index):
        x, y = vset.inputs[n], vset.targets[n]
        mix = 0.5 * x + 0.5 * y
        rec: dict[str, Any] = {"pair": i, **correlations(mix, x, y)}
        rec.update(spectral_measures(agent, mix, x, y))
        ls = M.ls_decomposition(mix.numpy(), x.numpy(), y.numpy())
        rec["share_input"] = ls["share_input"]
        records.append(rec)
    return records


def mean_defined(values: list[Any]) -> float | None:
    """Mean of the defined values (``None`` and NaN left out); ``None`` if there are none."""
    ok = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return float(np.mean(ok)) if ok else None


def aggregate(records: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    """Means over pairs of every numeric field, verdicts from the mean correlations."""
    records = sorted(records, key=lambda r: r["pair"])
    keys = sorted({k for r in records for k in r} - {"pair"})
    out: dict[str, Any] = {f"{prefix}/pairs": len(records)}
    for k in keys:
        if k.endswith("verdict"):
            continue
        out[f"{prefix}/{k}"] = mean_defined([r.get(k) for r in records])
    for k in keys:
        if not k.endswith("verdict"):
            continue
        stem = k[: -len("verdict")]
        ri, rt = (
            out.get(f"{prefix}/{stem}output_input_corr"),
            out.get(f"{prefix}/{stem}output_target_corr"),
        )
        out[f"{prefix}/{k}"] = M.verdict(ri, rt)
        out[f"{prefix}/{stem}mixing_fraction"] = mean_defined(
            [float(r.get(k) == "mixing") for r in records]
        )
    ri, rt = out.get(f"{prefix}/output_input_corr"), out.get(f"{prefix}/output_target_corr")
    out[f"{prefix}/meets_seed_criteria"] = M.meets_seed_criteria(ri, rt)
    return out


def evaluate(agent: CreativeAgent, vset: ValidationSet, env: DistEnv) -> dict[str, Any]:
    """The agent's ``valid/...`` metrics on the whole set (collective: every rank calls)."""
    was_training = agent.training
    agent.eval()
    try:
        mine = _pair_records(agent, vset, env.device)
    finally:
        agent.train(was_training)
    records = [r for part in all_gather_objects(env, mine) for r in part]
    return aggregate(records, "valid")


def evaluate_baseline(agent: CreativeAgent, vset: ValidationSet, env: DistEnv) -> dict[str, Any]:
    """The plain 0.5/0.5 sum's ``baseline/...`` metrics (collective; run once)."""
    records = [r for part in all_gather_objects(env, _baseline_records(agent, vset)) for r in part]
    return aggregate(records, "baseline")


def selection_key(metrics: dict[str, Any]) -> tuple[int, float]:
    """Larger is better: the seed's success criteria on validation first, then the smallest
    mean |energy share - knob| (a model that honours the balance knob)."""
    err = metrics.get("valid/share_error")
    err_v = float(err) if err is not None and math.isfinite(float(err)) else math.inf
    return (int(bool(metrics.get("valid/meets_seed_criteria"))), -err_v)
