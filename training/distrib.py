"""The only door to ``torch.distributed``: process group set-up, reductions, DDP wrapping.

A process started by ``torchrun`` finds ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (and
the rendezvous address) in its environment; a plain ``python`` process finds none and
runs as rank 0 of 1. With one process every helper here is a no-op (or the identity), so
the trainer has a single code path. Backend: NCCL when the device is CUDA, gloo on CPU.
Rank 0 alone logs and writes files (``DistEnv.is_main``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistEnv:
    """Where this process stands: ``rank`` of ``world_size`` processes, ``local_rank`` on
    its node, the ``device`` it computes on and the process-group ``backend`` (None when
    ``world_size == 1``: no process group)."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str | None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ValueError(f"environment variable {name}={value!r} is not an integer") from exc


def available_cores() -> int:
    """CPU cores this process may run on (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def pick_device(pref: str, local_rank: int) -> torch.device:
    """``pref``: "auto" (CUDA if available), "cpu", "cuda" (GPU ``local_rank``) or "cuda:N"."""
    if pref == "cpu" or (pref == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError(f"device {pref!r} asked for, but CUDA is not available")
    if pref.startswith("cuda:"):
        return torch.device(pref)
    return torch.device("cuda", local_rank % torch.cuda.device_count())


def _restart_store(rank: int, world: int, restart: int) -> dist.Store:
    """The rendezvous store for torchrun's ``restart``-th restart of the group, under the
    prefix ``restart_K``. torch's ``env://`` store has no per-attempt prefix, and the
    agent's store outlives a restart: the new ranks could read the dead ranks' gloo
    addresses and fail with "connectFullMesh ... Connection refused" (seen here)."""
    agent = os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True"
    base = dist.TCPStore(
        os.environ.get("MASTER_ADDR", "127.0.0.1"),
        _env_int("MASTER_PORT", 29500),
        world,
        is_master=not agent and rank == 0,
        timeout=timedelta(minutes=30),
        multi_tenant=True,
    )
    return dist.PrefixStore(f"restart_{restart}", base)


def setup(device: str = "auto") -> DistEnv:
    """Join the process group torchrun describes (if any) and choose this rank's device.

    On CPU each rank gets ``max(1, cores // world_size)`` intra-op threads so that N
    ranks do not oversubscribe the machine.
    """
    world = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    if not 0 <= rank < world:
        raise ValueError(f"RANK={rank} outside WORLD_SIZE={world}")
    dev = pick_device(device, local_rank)
    backend: str | None = None
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    else:
        torch.set_num_threads(max(1, available_cores() // world))
    if world > 1:
        backend = "nccl" if dev.type == "cuda" else "gloo"
        if not dist.is_initialized():
            kwargs: dict[str, Any] = {"backend": backend}
            if dev.type == "cuda":
                kwargs["device_id"] = dev
            restart = _env_int("TORCHELASTIC_RESTART_COUNT", 0)
            if restart > 0:
                store = _restart_store(rank, world, restart)
                kwargs.update(store=store, rank=rank, world_size=world)
            dist.init_process_group(**kwargs)
        log.info("rank %d/%d on %s (%s)", rank, world, dev, backend)
    return DistEnv(rank, world, local_rank, dev, backend)


def teardown(env: DistEnv) -> None:
    """Leave the process group (no-op for one process)."""
    if env.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(env: DistEnv) -> None:
    if env.distributed:
        dist.barrier()


def all_reduce_sum(env: DistEnv, values: torch.Tensor) -> torch.Tensor:
    """Sum of ``values`` over ranks (float64 on this rank's device; same shape)."""
    out = values.detach().to(device=env.device, dtype=torch.float64).clone()
    if env.distributed:
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out


def mean_over_ranks(
    env: DistEnv, sums: dict[str, float], counts: dict[str, float]
) -> dict[str, float]:
    """Global means ``Σ_ranks sums[k] / Σ_ranks counts[k]`` for every key, the same on every
    rank. All ranks must pass the same keys (they are sorted before reducing). Keys with a
    total count of 0 are left out."""
    keys = sorted(sums)
    if sorted(counts) != keys:
        raise ValueError("mean_over_ranks: sums and counts must have the same keys")
    if not keys:
        return {}
    packed = torch.tensor([[sums[k] for k in keys], [counts[k] for k in keys]], dtype=torch.float64)
    total = all_reduce_sum(env, packed).cpu()
    return {k: float(total[0, i] / total[1, i]) for i, k in enumerate(keys) if total[1, i] > 0}


def all_gather_objects(env: DistEnv, obj: Any) -> list[Any]:
    """Every rank's ``obj`` (picklable), in rank order, on every rank."""
    if not env.distributed:
        return [obj]
    out: list[Any] = [None] * env.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(env: DistEnv, obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not env.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def wrap_model(env: DistEnv, model: nn.Module) -> nn.Module:
    """``model`` moved to the device and, when distributed, wrapped in
    DistributedDataParallel (gradients averaged over ranks in ``backward``)."""
    model = model.to(env.device)
    if not env.distributed:
        return model
    ids = [env.device.index] if env.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside a DDP wrapper (or ``model`` itself)."""
    inner = model.module if isinstance(model, DistributedDataParallel) else model
    assert isinstance(inner, nn.Module)
    return inner


def average_gradients(env: DistEnv, module: nn.Module) -> None:
    """Average the ``.grad`` of ``module``'s parameters over ranks in place (for modules
    trained outside DDP, e.g. the discriminator). Parameters without a gradient count as
    zero so that every rank reduces the same tensors."""
    if not env.distributed:
        return
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.reshape(-1) for p in params if p.grad is not None])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= env.world_size
    offset = 0
    for p in params:
        assert p.grad is not None
        n = p.grad.numel()
        p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
        offset += n


def launch_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for launching worker processes (torchrun): ``base`` (default
    ``os.environ``) with ``OMP_WAIT_POLICY=PASSIVE`` unless already set.

    OpenMP threads otherwise busy-wait between ops; on a shared 2-core CPU that cost ~8×
    in training throughput here (1.9 vs 15 samples/s, docs/benchmarks.md). It must be set
    before the workers start: OpenMP reads it once, when torch loads.
    """
    env = dict(os.environ if base is None else base)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return env
