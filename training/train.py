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
from torch.utils.data import DataLoader
from tqdm import tqdm

from model import AgentConfig, CreativeAgent
from plugin_host.atomic import write_text
from plugin_host.measures import verdict
from training import distrib, validation
from training.checkpoint import CheckpointError, read_train_state, save_checkpoint
from training.cli_args import parse_args, to_toml
from training.config import TrainConfig
from training.curves import plot_curves
from training.datasets import make_dataset
from training.discriminator import MultiScaleSTFTDiscriminator
from training.epoch_sums import EpochSums
from training.launch import launch_torchrun, torchrun_command
from training.logbook import Logbook, MetricsLog, format_epoch, red_flags
from training.losses import discriminator_losses, generator_losses
from training.order import StepBatches, step_seed
from training.rng import draw_balance, random_gain, rng_state, seed_everything, set_rng_state
from training.run_checkpoints import newest_checkpoint, prune, restart_count, step_path
from training.torch_measures import energy_share, mask_stats, pearson

log = logging.getLogger("training.train" if __name__ == "__main__" else __name__)

# torchrun_command: re-exported for export/bench.py (its home is training/launch.py)
__all__ = ["main", "make_dataset", "torchrun_command", "train"]

# metrics that depend on wall-clock time or on the rank, not on the training itself
VOLATILE_KEYS = ("epoch_seconds",)


# ------------------------------------------------------------------------------ trainer


class Trainer:
    """One training run on this rank (see the module docstring)."""

    def __init__(
        self,
        cfg: TrainConfig,
        env: distrib.DistEnv,
        resume: Path | None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        self.cfg = dataclasses.replace(cfg)  # live copy: auto_balance may change it
        self.env = env
        self.run_dir = Path(cfg.out)
        self.cuda = env.device.type == "cuda"
        if payload is None and resume is not None:
            payload = read_train_state(resume)

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
        self.n_items: int = len(self.dataset)  # type: ignore[arg-type]
        self.global_batch = cfg.batch_size * env.world_size
        if self.n_items < self.global_batch:
            raise ValueError(
                f"train_pairs: {self.n_items} pairs are fewer than the global batch "
                f"{self.global_batch} ({env.world_size} rank(s) × batch_size {cfg.batch_size})"
            )
        self.resumed_from = resume
        self.partial: EpochSums | None = None  # a mid-epoch checkpoint's sums (this rank)
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
        partial = payload.get("partial_sums")  # mid-epoch: every rank's running sums
        if isinstance(partial, list) and len(partial) == self.env.world_size:
            self.partial = EpochSums()
            self.partial.sums, self.partial.counts = partial[self.env.rank]
        if self.cfg.auto_balance:
            stored = payload["train_config"].get("loss_weight_input", self.cfg.loss_weight_input)
            self.cfg.loss_weight_input = float(stored)
        states = payload["rng"]
        if isinstance(states, list) and len(states) == self.env.world_size:
            set_rng_state(states[self.env.rank], self.env.device)
        else:
            n = len(states) if isinstance(states, list) else 1
            log.warning(
                "%s: saved by %d rank(s), resuming on %d: another global batch and data "
                "split (results will differ from an uninterrupted run)", path, n,
                self.env.world_size,
            )  # fmt: skip
        log.info("resumed from %s at epoch %d, step %d", path, self.epoch, self.step)

    def _state(
        self, metrics: dict[str, Any], rng: list[dict[str, Any]], partial: list[Any] | None = None
    ) -> dict[str, Any]:
        state: dict[str, Any] = {
            "partial_sums": partial,
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
        """This rank's batches from the current global step to the end of epoch
        ``epoch_index`` (``training.order``: a function of the seed and the step)."""
        cfg, env = self.cfg, self.env
        stop = (epoch_index + 1) * cfg.steps_per_epoch
        sampler = StepBatches(
            self.n_items, cfg.seed, env.rank, env.world_size, cfg.batch_size, self.step, stop
        )
        loader = DataLoader(
            self.dataset, batch_sampler=sampler, num_workers=cfg.num_workers, pin_memory=self.cuda
        )
        yield from loader

    def _save_step(self, sums: EpochSums) -> None:
        """Checkpoint after this global step (every rank joins: the sums are gathered)."""
        partial = distrib.all_gather_objects(self.env, (sums.sums, sums.counts))
        rng = distrib.all_gather_objects(self.env, rng_state(self.env.device))
        if self.env.is_main:
            state = self._state(self.last_metrics, rng, partial)
            save_checkpoint(step_path(self.run_dir, self.step), self.agent, **state)
            prune(self.run_dir, self.cfg.keep_checkpoints)

    def _train_step(
        self, batch: dict[str, torch.Tensor], gan_active: bool, sums: EpochSums
    ) -> None:
        cfg, dev = self.cfg, self.env.device
        seed_everything(step_seed(cfg.seed, self.step, self.env.rank))
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
        sums, self.partial = self.partial or EpochSums(), None
        done = self.step - e * cfg.steps_per_epoch  # > 0 when resumed mid-epoch
        self.model.train()
        show = env.is_main and cfg.progress and sys.stderr.isatty()
        with tqdm(
            total=cfg.steps_per_epoch, initial=done, desc=f"Epoch {e + 1}/{cfg.epochs}",
            disable=not show, leave=False, file=sys.stderr, dynamic_ncols=True,
        ) as bar:  # fmt: skip
            for batch in self._batches(e):
                self._train_step(batch, gan_active, sums)
                bar.update(1)
                every = cfg.checkpoint_every
                if every > 0 and self.step % every == 0 and self.step % cfg.steps_per_epoch:
                    self._save_step(sums)
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
        if env.is_main:
            log.info(
                "global batch %d (%d rank(s) × batch_size %d, disjoint items per rank), "
                "checkpoint every %d step(s), keeping %d", self.global_batch, env.world_size,
                cfg.batch_size, cfg.checkpoint_every, cfg.keep_checkpoints,
            )  # fmt: skip
        if self.resumed_from is not None:
            self.logbook.write(
                f"Resumed from {self.resumed_from}: resumed at epoch {self.epoch + 1} step "
                f"{self.step} after restart {restart_count()}"
            )
        if self.epoch >= cfg.epochs:
            log.info("%s: already trained %d of %d epochs", self.run_dir, self.epoch, cfg.epochs)
        while self.epoch < cfg.epochs:
            self.run_epoch()
        return {**self.last_metrics, "best_epoch": self.best_epoch, "run_dir": str(self.run_dir)}


def train(cfg: TrainConfig, resume: str | Path | None = None) -> dict[str, Any]:
    """Train with ``cfg`` in this process (one rank of a torchrun job when its environment
    says so); ``resume``: a ``last.pt`` to continue from. After a torchrun restart
    (``TORCHELASTIC_RESTART_COUNT`` > 0) and without ``resume``, every rank resumes from the
    newest complete checkpoint of the run folder (rank 0 reads it; the others receive it).
    Returns the last epoch's
    metrics (the same on every rank) plus ``best_epoch`` and ``run_dir``."""
    env = distrib.setup(cfg.device)
    try:
        path = Path(resume) if resume is not None else None
        payload = None
        if path is None and restart_count() > 0:  # torchrun restarted us: pick up the run
            found = newest_checkpoint(Path(cfg.out)) if env.is_main else None
            path, payload = distrib.broadcast_object(env, found) or (None, None)
        return Trainer(cfg, env, path, payload).run()
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
    nproc = args.nproc or 1
    if (nproc > 1 or args.max_restarts > 0) and "WORLD_SIZE" not in os.environ:
        return launch_torchrun(nproc, args_in, args.max_restarts)
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
