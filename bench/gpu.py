"""Section 7: ONNX Runtime CUDA RTF of the ``base`` model and NCCL training samples/s, or
one line saying why it was skipped."""

from __future__ import annotations

from typing import Any

from bench.context import Setup
from bench.timing import median, rounds, rtf
from bench.training import train_throughput
from plugin_host.runtime import load_model


def section_gpu(s: Setup) -> dict[str, Any]:
    """The pair rendered on CUDA by a fresh ``base`` model; ``base`` trained with NCCL on
    every visible GPU."""
    import torch

    if not torch.cuda.is_available():
        return {"gpu": None, "gpu_skipped": "no CUDA device"}
    from export.onnx_export import export_core, fresh_agent
    from plugin_host.renderer import render

    path = export_core(fresh_agent("base"), s.tmp / "base.onnx")
    model = load_model(path, provider="cuda", threads=s.cfg.threads)
    out = s.out("gpu")
    contenders = {"ort_cuda": lambda: render(*s.paths, model, out, overwrite=True)}
    med = median(rounds(contenders, s.cfg.runs, s.cfg.warmup, "gpu")["ort_cuda"])
    train = train_throughput(s.cfg, s.tmp, torch.cuda.device_count(), "cuda", "base")
    return {
        "gpu": {
            "device": torch.cuda.get_device_name(0),
            "count": torch.cuda.device_count(),
            "provider": model.provider,
            "render_seconds": med,
            "train": train,
        },
        "gpu_skipped": None,
        "gpu_ort_cuda_rtf": rtf(s.cfg.seconds, med),
        "gpu_train_samples_per_s": train["samples_per_s"],
    }
