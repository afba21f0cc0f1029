"""Training: ``creative-agent train [flags]`` (one process), ``torchrun
--nproc_per_node=N -m training.train [flags]`` or ``creative-agent train --nproc N`` (DDP).

Python entry: ``train(cfg, resume=None) -> dict`` (the last epoch's metrics), usable
in-process. Each epoch: ``steps_per_epoch`` steps per rank over a DistributedSampler
(every clip's gain drawn from U[-gain_db, +gain_db] dB, balance fixed or uniform), the
seed's diagnostics on every batch (mask statistics, energy share, output correlations)
averaged over the epoch and over ranks, the seed's alerts and red flags (``--auto_balance``
raises ``loss_weight_input`` while a red flag fires), validation on the fixed set, then on
rank 0 alone: the epoch block on stdout and ``train.log``, a line in ``metrics.jsonl``,
``curves.png``, ``last.pt`` and, when validation improves, ``best_model.pt``.

``best_model.pt``: the epoch with the best ``validation.selection_key``: the seed's success
criteria on validation first (``plugin_host.measures.meets_seed_criteria``), then the
smallest mean |energy share - knob|; ties keep the earlier epoch.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from tqdm import tqdm

from model import AgentConfig, CreativeAgent
from plugin_host.atomic import write_text
from plugin_host.measures import verdict
from training import distrib, validation
from training.checkpoint import CheckpointError, read_train_state, save_checkpoint
from training.cli_args import parse_args, to_toml
from training.config import TrainConfig
from training.curves import plot_curves
from training.discriminator import MultiScaleSTFTDiscriminator
from training.epoch_sums import EpochSums
from training.launch import launch_torchrun, torchrun_command
from training.logbook import Logbook, MetricsLog, format_epoch, red_flags
from training.losses import discriminator_losses, generator_losses
from training.rng import draw_balance, random_gain, rng_state, seed_everything, set_rng_state
from training.torch_measures import energy_share, mask_stats, pearson

log = logging.getLogger("training.train" if __name__ == "__main__" else __name__)

# torchrun_command: re-exported for export/bench.py (its home is training/launch.py)
__all__ = ["main", "torchrun_command", "train"]

# metrics that depend on wall-clock time or on the rank, not on the training itself
VOLATILE_KEYS = ("epoch_seconds",)


# ------------------------------------------------------------------------------ data


def make_dataset(cfg: TrainConfig, model_cfg: AgentConfig, channels: int = 2) -> Dataset[Any]:
    """Training pairs: synthetic (``training.data.synth.SynthPairs`` over the training
    distribution, ``crop_seconds`` long), sampled instruments (``soundfont``:
    ``training.data.soundfont.SoundFontPairs``, training split, cached in ``data_cache``),
    both interleaved (``mix``), or ``DIR/input`` + ``DIR/target`` files
    (``training.data.folder.FolderPairs``). Items: {"input", "target"} Tensor[C, T]."""
    if cfg.data in ("synthetic", "soundfont", "mix"):
        from training.data.synth import SynthPairs, train_config

        kw: dict[str, Any] = dict(
            seconds=cfg.crop_seconds, sample_rate=model_cfg.sample_rate, channels=channels
        )
        if cfg.data == "synthetic":
            return SynthPairs(train_config(**kw), cfg.train_pairs, cfg.seed)
        from training.data.soundfont import MixedPairs, SoundFontConfig, SoundFontPairs

        n = cfg.train_pairs if cfg.data == "soundfont" else max(cfg.train_pairs // 2, 1)
        sf = SoundFontPairs(
            SoundFontConfig(split="train", **kw), n, cfg.seed, cfg.data_cache or None
        )
        if cfg.data == "soundfont":
            return sf
        return MixedPairs(SynthPairs(train_config(**kw), n, cfg.seed), sf)
    root = Path(cfg.data)
    if not (root / "input").is_dir() or not (root / "target").is_dir():
        raise ValueError(
            f"--data {root}: expected synthetic, soundfont, mix or a folder with input/ and target/"
        )
    from training.data.folder import FolderPairs

    return FolderPairs(
        root / "input",
        root / "target",
        sample_rate=model_cfg.sample_rate,
        channels=channels,
        crop_seconds=cfg.crop_seconds,
        n_items=cfg.train_pairs,
        seed=cfg.seed,
    )


# ------------------------------------------------------------------------------ trainer


class Trainer:
    """One training run on this rank (see the module docstring)."""

    def __init__(self, cfg: TrainConfig, env: distrib.DistEnv, resume: Path | None) -> None:
        self.cfg = dataclasses.replace(cfg)  # live copy: auto_balance may change it
        self.env = env
        self.run_dir = Path(cfg.out)
        self.cuda = env.device.type == "cuda"
        payload = read_train_state(resume) if resume is not None else None

        seed_everything(cfg.seed)  # same initial weights on every rank
        model_cfg = AgentConfig.preset(cfg.model_size)
        if payload is not None:
            stored = AgentConfig.from_dict(payload["model_config"])
            if stored != model_cfg:
                raise CheckpointError(
                    f"{resume}: model config {stored.size!r} differs from --model_size "
                    f"{cfg.model_size!r}; cannot resume"
                )
        self.agent = CreativeAgent(model_cfg)
        self.model = distrib.wrap_model(env, self.agent)
        self.opt = torch.optim.AdamW(self.agent.parameters(), lr=cfg.lr)
        self.scaler = torch.amp.GradScaler("cuda", enabled=cfg.amp and self.cuda)
        self.disc: nn.Module | None = None
        self.disc_opt: torch.optim.Optimizer | None = None
        if cfg.gan_weight > 0:
            self.disc = MultiScaleSTFTDiscriminator().to(env.device)
            self.disc_opt = torch.optim.AdamW(self.disc.parameters(), lr=cfg.lr)

        self.dataset = make_dataset(cfg, model_cfg)
        per_rank = len(self.dataset) // env.world_size  # type: ignore[arg-type]
        if per_rank < cfg.batch_size:
            raise ValueError(
                f"train_pairs: {len(self.dataset)} pairs give {per_rank} per rank, fewer than "  # type: ignore[arg-type]
                f"batch_size {cfg.batch_size}"
            )
        self.sampler: DistributedSampler[Any] = DistributedSampler(
            self.dataset, env.world_size, env.rank, shuffle=True, seed=cfg.seed, drop_last=True
        )
        self.loader = DataLoader(
            self.dataset,
            batch_size=cfg.batch_size,
            sampler=self.sampler,
            num_workers=cfg.num_workers,
            drop_last=True,
            pin_memory=self.cuda,
        )
        self.resumed_from = resume
        self.epoch = 0  # epochs completed
        self.step = 0
        self.best_key: tuple[int, float] | None = None
        self.best_epoch = 0
        self.last_metrics: dict[str, Any] = {}
        seed_everything(cfg.seed + 1 + env.rank)  # per-rank streams (gains, balance)
        if payload is not None:
            self._restore(payload, resume)

        self.logbook = Logbook(self.run_dir, enabled=env.is_main)
        self.metrics_log = MetricsLog(self.run_dir / "metrics.jsonl")
        self.vset = validation.build(cfg, model_cfg.sample_rate, env)
        self.baseline = validation.evaluate_baseline(self.agent, self.vset, env)

    # -- state ---------------------------------------------------------------------

    def _restore(self, payload: dict[str, Any], path: Path | None) -> None:
        try:
            self.agent.load_state_dict(payload["model"])
            self.opt.load_state_dict(payload["optimizer"])
            if payload.get("scaler"):
                self.scaler.load_state_dict(payload["scaler"])
            if self.disc is not None and self.disc_opt is not None:
                if "discriminator" not in payload:
                    raise CheckpointError(f"{path}: gan_weight > 0 but no discriminator saved")
                self.disc.load_state_dict(payload["discriminator"])
                self.disc_opt.load_state_dict(payload["disc_optimizer"])
        except (KeyError, ValueError, RuntimeError) as exc:
            raise CheckpointError(f"{path}: checkpoint does not match this run ({exc})") from exc
        self.epoch, self.step = int(payload["epoch"]), int(payload["step"])
        best = payload.get("best") or {}
        if "key" in best:
            self.best_key = (int(best["key"][0]), float(best["key"][1]))
            self.best_epoch = int(best["epoch"])
        self.last_metrics = dict(payload.get("metrics") or {})
        if self.cfg.auto_balance:
            stored = payload["train_config"].get("loss_weight_input", self.cfg.loss_weight_input)
            self.cfg.loss_weight_input = float(stored)
        states = payload["rng"]
        if isinstance(states, list) and len(states) == self.env.world_size:
            set_rng_state(states[self.env.rank], self.env.device)
        else:
            n = len(states) if isinstance(states, list) else 1
            log.warning(
                "%s: saved by %d rank(s), resuming on %d: fresh RNG streams (results will "
                "differ from an uninterrupted run)", path, n, self.env.world_size
            )  # fmt: skip
            seed_everything(self.cfg.seed + 1 + self.env.rank + 7919 * self.epoch)
        log.info("resumed from %s at epoch %d, step %d", path, self.epoch, self.step)

    def _state(self, metrics: dict[str, Any], rng: list[dict[str, Any]]) -> dict[str, Any]:
        state: dict[str, Any] = {
            "train_config": self.cfg.to_dict(),
            "epoch": self.epoch,
            "step": self.step,
            "optimizer": self.opt.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rng,
            "metrics": metrics,
            "best": {"epoch": self.best_epoch, "key": list(self.best_key or (0, 0.0))},
            "world_size": self.env.world_size,
        }
        if self.disc is not None and self.disc_opt is not None:
            state["discriminator"] = self.disc.state_dict()
            state["disc_optimizer"] = self.disc_opt.state_dict()
        return state

    # -- one epoch -----------------------------------------------------------------

    def _batches(self, epoch_index: int) -> Iterator[dict[str, torch.Tensor]]:
        """``steps_per_epoch`` batches, passing over the sampler as often as needed."""
        n, sweep = 0, 0
        while True:
            self.sampler.set_epoch(epoch_index * 10_000 + sweep)
            for batch in self.loader:
                yield batch
                n += 1
                if n == self.cfg.steps_per_epoch:
                    return
            sweep += 1

    def _train_step(
        self, batch: dict[str, torch.Tensor], gan_active: bool, sums: EpochSums
    ) -> None:
        cfg, dev = self.cfg, self.env.device
        x = random_gain(batch["input"].float(), cfg.gain_db).to(dev, non_blocking=True)
        y = random_gain(batch["target"].float(), cfg.gain_db).to(dev, non_blocking=True)
        bal = draw_balance(cfg, x.shape[0], dev)
        if self.disc is not None:
            self.disc.requires_grad_(False)
        with torch.autocast(dev.type, dtype=torch.float16, enabled=self.scaler.is_enabled()):
            out = self.model(x, y, bal)
            losses = generator_losses(out, x, y, bal, cfg, self.agent, self.disc, gan_active)
        total = losses["total"]
        if not torch.isfinite(total):
            raise FloatingPointError(
                f"epoch {self.epoch + 1}, step {self.step + 1}: loss is {float(total)} "
                "(try a lower --lr)"
            )
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        if cfg.grad_clip > 0:
            self.scaler.unscale_(self.opt)
            nn.utils.clip_grad_norm_(self.agent.parameters(), cfg.grad_clip)
        self.scaler.step(self.opt)
        self.scaler.update()
        self.step += 1

        if self.disc is not None and self.disc_opt is not None:
            self.disc.requires_grad_(True)
            d = discriminator_losses(self.disc, real=torch.cat([x, y]), fake=out.audio.detach())
            self.disc_opt.zero_grad(set_to_none=True)
            d["total"].backward()
            distrib.average_gradients(self.env, self.disc)
            if cfg.grad_clip > 0:
                nn.utils.clip_grad_norm_(self.disc.parameters(), cfg.grad_clip)
            self.disc_opt.step()
            for name, v in d.items():
                sums.add(f"disc/{name}", float(v.detach()))

        with torch.no_grad():
            for name, v in losses.items():
                sums.add(f"loss/{name}", float(v.detach()))
            for name, v in mask_stats(out.input_mask.float(), out.target_mask.float()).items():
                sums.add(f"train/{name}", float(v))
            share = energy_share(
                out.input_mask.float(), out.target_mask.float(), out.input_band_power.float(),
                out.target_band_power.float(), self.agent.dsp.band_sizes,
            )  # fmt: skip
            sums.add_mean("train/energy_share", share)
            sums.add_mean("train/share_error", (share - bal).abs())
            sums.add_mean("train/balance", bal)
            audio = out.audio.float()
            sums.add_mean("train/output_input_corr", pearson(audio, x, per_item=True))
            sums.add_mean("train/output_target_corr", pearson(audio, y, per_item=True))

    def run_epoch(self) -> dict[str, Any]:
        cfg, env = self.cfg, self.env
        e = self.epoch  # 0-based index of the epoch being trained
        t0 = time.perf_counter()
        gan_active = self.disc is not None and e >= cfg.gan_warmup_epochs
        sums = EpochSums()
        self.model.train()
        show = env.is_main and cfg.progress and sys.stderr.isatty()
        with tqdm(
            total=cfg.steps_per_epoch, desc=f"Epoch {e + 1}/{cfg.epochs}", disable=not show,
            leave=False, file=sys.stderr, dynamic_ncols=True,
        ) as bar:  # fmt: skip
            for batch in self._batches(e):
                self._train_step(batch, gan_active, sums)
                bar.update(1)
                bar.set_postfix(loss=f"{sums.sums['loss/total'] / sums.counts['loss/total']:.4f}")
        metrics: dict[str, Any] = distrib.mean_over_ranks(env, sums.sums, sums.counts)
        self.epoch += 1
        ri = metrics.get("train/output_input_corr", float("nan"))
        rt = metrics.get("train/output_target_corr", float("nan"))
        metrics["train/verdict"] = verdict(ri, rt)
        flags = red_flags(self.epoch, ri, rt, cfg)
        notes: list[str] = []
        if flags and cfg.auto_balance:
            old = cfg.loss_weight_input
            new = min(cfg.auto_balance_max, old + cfg.auto_balance_step)
            if new > old:
                cfg.loss_weight_input = new
                notes.append(f"🔧 auto_balance: loss_weight_input {old:g} → {new:g} (red flag)")
            else:
                notes.append(f"🔧 auto_balance: loss_weight_input at its bound {old:g}")
        metrics.update(validation.evaluate(self.agent, self.vset, env))
        metrics.update(self.baseline)
        metrics.update(
            epoch=self.epoch,
            step=self.step,
            world_size=env.world_size,
            gan_active=gan_active,
            red_flags=[f.name for f in flags],
            loss_weight_input=cfg.loss_weight_input,
            epoch_seconds=time.perf_counter() - t0,
        )
        key = validation.selection_key(metrics)
        is_best = self.best_key is None or key > self.best_key
        if is_best:
            self.best_key, self.best_epoch = key, self.epoch
            notes.append(
                f"💾 best_model.pt ← epoch {self.epoch} (seed criteria met: "
                f"{'yes' if key[0] else 'no'}, mean |share−knob| {-key[1]:.3f})"
            )
        rng = distrib.all_gather_objects(env, rng_state(env.device))
        if env.is_main:
            self.logbook.write(
                format_epoch(self.epoch, cfg.epochs, metrics, cfg.balance_loss_weight, flags, notes)
            )
            self.metrics_log.append(metrics)
            plot_curves(self.metrics_log.read(), self.run_dir / "curves.png")
            state = self._state(metrics, rng)
            save_checkpoint(self.run_dir / "last.pt", self.agent, **state)
            if is_best:
                save_checkpoint(self.run_dir / "best_model.pt", self.agent, **state)
        distrib.barrier(env)
        self.last_metrics = metrics
        return metrics

    def run(self) -> dict[str, Any]:
        env, cfg = self.env, self.cfg
        if env.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            write_text(self.run_dir / "config.toml", to_toml(cfg))
            self.metrics_log.keep_until(self.epoch)
            n_params = sum(p.numel() for p in self.agent.parameters())
            log.info(
                "training %s (%d parameters) on %d rank(s) [%s, %s], preset %r, epochs %d..%d, "
                "run folder %s", cfg.model_size, n_params, env.world_size, env.device,
                env.backend or "single process", cfg.preset or "none", self.epoch + 1,
                cfg.epochs, self.run_dir,
            )  # fmt: skip
        if self.resumed_from is not None:
            self.logbook.write(f"Resumed from {self.resumed_from} after epoch {self.epoch}")
        if self.epoch >= cfg.epochs:
            log.info("%s: already trained %d of %d epochs", self.run_dir, self.epoch, cfg.epochs)
        while self.epoch < cfg.epochs:
            self.run_epoch()
        return {**self.last_metrics, "best_epoch": self.best_epoch, "run_dir": str(self.run_dir)}


def train(cfg: TrainConfig, resume: str | Path | None = None) -> dict[str, Any]:
    """Train with ``cfg`` in this process (one rank of a torchrun job when its environment
    says so); ``resume``: a ``last.pt`` to continue from. Returns the last epoch's
    metrics (the same on every rank) plus ``best_epoch`` and ``run_dir``."""
    env = distrib.setup(cfg.device)
    try:
        return Trainer(cfg, env, Path(resume) if resume is not None else None).run()
    finally:
        distrib.teardown(env)


# ------------------------------------------------------------------------------ CLI


def main(argv: list[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parse_args(args_in)
    except (ValueError, CheckpointError) as exc:
        print(f"creative-agent train: {exc}", file=sys.stderr)
        return 1
    if args.print_config:
        print(to_toml(args.cfg), end="")
        return 0
    if args.nproc is not None and args.nproc > 1 and "WORLD_SIZE" not in os.environ:
        return launch_torchrun(args.nproc, args_in)
    try:
        train(args.cfg, resume=args.resume)
    except (ValueError, CheckpointError, FloatingPointError) as exc:
        print(f"creative-agent train: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    rank = os.environ.get("RANK", "0")
    logging.basicConfig(
        level=logging.INFO if rank == "0" else logging.WARNING,
        format=f"%(levelname)s [rank {rank}] %(name)s: %(message)s",
    )
    raise SystemExit(main())
