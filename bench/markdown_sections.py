"""The numbered sections of benchmarks.md (1-9; 4-5 are in ``bench.markdown_processes``),
each from the results alone."""

from __future__ import annotations

from typing import Any

from bench.config import CHAIN, RSS_RATIO_KEY
from plugin_host.measures import MEASURES

STAGES = {
    "io": "I/O (read + write)",
    "chains": "chains (pedalboard)",
    "dsp": "DSP + glue (numpy STFT, features, masks, iSTFT: the agent's time less the core's)",
    "core": "core (ONNX Runtime)",
    "report": "report (measures, from the agent's spectra)",
    "load_model": "load model",
}
INCLUDES = {
    "host": "read, agent (numpy STFT + ONNX core + iSTFT, streamed), report, write "
    "(`plugin_host.render`, model loaded once)",
    "torch": "read, `CreativeAgent` forward (torch.stft / istft) under `inference_mode`, "
    "write; no report",
    "torch_1thread": "the same with `torch.set_num_threads(1)`, timed after the others "
    "(for reference)",
    "floor": "read, the host's streaming path (`plugin_host.pipeline.process_chunked`) with "
    "an identity core (unit masks), write; no model, no report",
    "fft_floor": "in memory: framing + Hann window + float32 `scipy.fft` rfft of the 4 "
    "channel-clips and irfft of 2, in the host's chunks (`bench.fft_floor`); no I/O, "
    "features, model, overlap-add or report",
}
BASE_LABEL = {
    "agent": "agent (host render)",
    "sum": "50/50 sum",
    "vocoder": "channel vocoder",
    "target_copy": "target copied (reference)",
}


def fmt(x: Any, spec: str = ".2f", unit: str = "") -> str:
    """A value for a table cell: ``n/a`` for None, yes/no for booleans."""
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float | int):
        return f"{x:{spec}}{unit}"
    return str(x)


def _runs(xs: list[float] | None) -> str:
    return ", ".join(f"{x:.3f}" for x in xs) if xs else "n/a"


def _not_run(title: str) -> list[str]:
    return [f"## {title}", "", "not run", ""]


def stage_table(stages: dict[str, float], total: float) -> list[str]:
    lines = ["| stage | median s | share of the render |", "|---|---:|---:|"]
    for key, label in STAGES.items():
        if key in stages and (key != "load_model" or stages[key] > 0):
            lines.append(f"| {label} | {stages[key]:.3f} | {100 * stages[key] / total:.0f} % |")
    return lines


def _torch_1thread(r: dict[str, Any]) -> list[str]:
    ratio = r.get("host_vs_torch_1thread_ratio")
    if ratio is None:
        return []
    note = ""
    if r["torch_1thread_seconds"] < r["torch_seconds"]:
        note = (
            f" PyTorch ran faster on one thread than on {r['config']['threads']}: its OpenMP "
            "threads wait for each other when other processes hold the cores (see the load "
            "average)."
        )
    return [f"- against PyTorch on one thread: **{ratio:.2f}**.{note}"]


def md_host(r: dict[str, Any]) -> list[str]:
    if r.get("host_rtf") is None:
        return _not_run("1-2. Host vs PyTorch vs the floors")
    runs = r["runs_s"].get("host") or {}
    lines = [
        f"## 1-2. Host vs PyTorch eager vs the floors ({r['config']['seconds']:g} s pair, "
        "no chains)",
        "",
        "| path | what the time includes | median s | × real time | runs (s) |",
        "|---|---|---:|---:|---|",
    ]
    for key in ("host", "torch", "torch_1thread", "floor", "fft_floor"):
        if r.get(key + "_seconds") is not None:
            lines.append(
                f"| {key} | {INCLUDES[key]} | {r[key + '_seconds']:.3f} | "
                f"{r[key + '_rtf']:.1f} | {_runs(runs.get(key))} |"
            )
    return [
        *lines,
        "",
        f"- `host_vs_torch_ratio` = torch s / host s = **{r['host_vs_torch_ratio']:.2f}**, "
        f"PyTorch at its faster thread count ({r['torch_best_threads']}); at "
        f"{r['config']['threads']} threads: {r['host_vs_torch_threads_ratio']:.2f} (the host "
        "also computes its report, the PyTorch path does not).",
        *_torch_1thread(r),
        f"- `host_vs_floor_ratio` = host s / floor s = **{r['host_vs_floor_ratio']:.2f}**.",
        "- `host_vs_fft_floor_ratio` = host s / fft_floor s = "
        f"**{r['host_vs_fft_floor_ratio']:.2f}** (the host's file I/O and report included).",
        "- the same ratios from each path's fastest run (least disturbed by other processes): "
        f"torch / host {r['host_vs_torch_ratio_best']:.2f}, host / floor "
        f"{r['host_vs_floor_ratio_best']:.2f}, host / fft_floor "
        f"{r['host_vs_fft_floor_ratio_best']:.2f}.",
        "",
        "Where the host's time goes (median over the timed runs; each stage's seconds on "
        "its own thread: reading, the agent, the report's measures, and the writer run on "
        "four threads, so the shares add up to more than 100 %):",
        "",
        *stage_table(r["host_stages_s"], r["host_seconds"]),
        "",
        *_one_thread(r),
    ]


def _one_thread(r: dict[str, Any]) -> list[str]:
    """The host on one thread: its stages in turn, so they add up to its wall time."""
    if r.get("host_1thread_stages_s") is None:
        return []
    wall = r["host_1thread_seconds"]
    return [
        f"The same render on one thread (its stages in turn, as in a render-batch worker; "
        f"`host_1thread_seconds` {wall:.3f} s, {r['config']['seconds'] / wall:.0f}× real "
        "time), where the stages do not overlap:",
        "",
        *stage_table(r["host_1thread_stages_s"], wall),
        "",
    ]


def md_chains(r: dict[str, Any]) -> list[str]:
    if r.get("end_to_end_rtf") is None:
        return _not_run("3. End to end with chains")
    chain = r.get("chain") or CHAIN
    desc = "; ".join(
        f"{sec}: " + " → ".join(e["plugin"] for e in chain[sec]) for sec in chain if chain[sec]
    )
    stages = r["end_to_end_stages_s"]
    slowest = max((k for k in stages if k != "load_model"), key=lambda k: stages[k])
    return [
        "## 3. End to end with chains",
        "",
        f"read → input/target chains → agent → output chain → write → report file ({desc}): "
        f"median **{r['end_to_end_seconds']:.3f} s**, **{r['end_to_end_rtf']:.1f}× real "
        f"time**; slowest stage: {STAGES[slowest].split(' (')[0]}.",
        "",
        "Reading with the input/target chains, the agent, the report's measures, and the "
        "output chain with the writer run on four threads (`plugin_host/stage_thread.py`), "
        "so their times overlap: the stages add up to more than the wall time.",
        "",
        *stage_table(stages, r["end_to_end_seconds"]),
        "",
    ]


def md_memory(r: dict[str, Any]) -> list[str]:
    if r.get(RSS_RATIO_KEY) is None:
        return _not_run("6. Memory vs clip length")
    lines = [
        "## 6. Memory vs clip length",
        "",
        "Each render in a fresh `python -m bench.rss_probe` process that imports only the "
        "host; peak = VmHWM.",
        "",
        "| clip | peak RSS MiB | RSS after imports + model load MiB | render s | torch imported |",
        "|---:|---:|---:|---:|---|",
    ]
    for label, row in r["rss"].items():
        lines.append(
            f"| {label} | {row['peak_mib']:.0f} | {fmt(row['after_load_mib'], '.0f')} | "
            f"{row['render_s']:.2f} | {fmt(row['torch_imported'])} |"
        )
    first, last = r["memory_seconds"][0], r["memory_seconds"][-1]
    return [
        *lines,
        "",
        f"- `{RSS_RATIO_KEY}` = peak({last:g} s) / peak({first:g} s), the last and first of "
        f"`memory_seconds` = **{r[RSS_RATIO_KEY]:.2f}**; growth above the loaded process: "
        f"{fmt(r['rss_growth_over_load'])}×.",
        "",
    ]


def md_baselines(r: dict[str, Any]) -> list[str]:
    rows = r.get("baselines")
    if not rows:
        return _not_run("7. DSP baselines")
    lines = [
        "## 7. DSP baselines",
        "",
        "Timed as read → mix → write; every output scored by `plugin_host.measures.measure_clip` "
        "(the report's definitions, on the finished waveforms). The agent is this run's model: "
        f"{(r.get('model') or {}).get('source', 'n/a')}.",
        "",
        "| mix | s | × real time | corr in | corr tg | verdict | share in | residual | "
        "onset in | onset tg | chroma in | chroma tg |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in rows.items():
        vals = [fmt(row.get(k)) for k in ("output_input_corr", "output_target_corr")]
        vals.append(fmt(row.get("verdict")))
        vals += [fmt(row.get(k)) for k in MEASURES[4:]]
        head = f"| {BASE_LABEL.get(name, name)} | {fmt(row['seconds'], '.3f')} | "
        lines.append(head + f"{fmt(row['rtf'], '.1f')} | " + " | ".join(vals) + " |")
    return [*lines, ""]


def _train_row(row: dict[str, Any]) -> str:
    pinned = row.get("pinned_core")
    procs = f"{row['processes']}" + (f" (pinned to core {pinned})" if pinned is not None else "")
    return (
        f"| {procs} | {row['threads_per_process']} | {row['model_size']} | "
        f"{row['samples_per_epoch']} | {row['timed_epochs']} | {row['epoch_seconds']:.2f} | "
        f"{row['samples_per_s']:.2f} | {row['wall_s']:.1f} |"
    )


def md_train(r: dict[str, Any]) -> list[str]:
    if r.get("ddp_scaling_2_over_1") is None:
        return _not_run("8. Training throughput")
    c = r["config"]
    return [
        "## 8. Training throughput (torchrun, gloo, CPU)",
        "",
        "| processes | threads each | model | samples per epoch | timed epochs | s per epoch "
        "| samples/s | job wall s |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
        *(_train_row(row) for row in r["train"].values()),
        "",
        f"- `ddp_scaling_2_over_1` = **{r['ddp_scaling_2_over_1']:.2f}** (2 processes over 1)."
        + _superlinear(r),
        f"- Each job: `--preset default`, {c['train_epochs']} epoch(s) of {c['train_steps']} "
        f"steps × batch {c['train_batch']} per process × {c['train_crop_s']:g} s crops. Timed: "
        "`epoch_seconds` (metrics.jsonl) of every epoch after the first (warm-up): steps "
        "(synthetic data made on the fly, forward, losses, backward, gradient all-reduce) and "
        "a one-pair validation; start-up, plots and checkpoints are not timed. Threads per "
        "process: cores / processes (`training.distrib`).",
        "",
    ]


def _superlinear(r: dict[str, Any]) -> str:
    """Notes on the 1-process figure: the pinned one-thread reference, and why a scaling
    above 2 on 2 cores means the one-process job was slowed."""
    note = ""
    pinned = r.get("ddp_samples_per_s_1_pinned")
    if pinned:
        note += (
            f" For reference, one process pinned to one core (one thread): {pinned:.2f} "
            f"samples/s; 2 processes over it: {r['ddp_samples_per_s_2'] / pinned:.2f}×."
        )
    if r["ddp_scaling_2_over_1"] > 2.0:
        note += (
            " More than 2× from 2 processes means the one-process job (2 threads) was "
            "slowed by contention: its threads wait for each other while other processes "
            "hold a core (compare PyTorch eager on 2 threads and on 1 in section 1)."
        )
    return note


def md_gpu(r: dict[str, Any]) -> list[str]:
    if r.get("gpu") is None:
        skipped = r.get("gpu_skipped")
        return ["## 9. GPU", "", f"skipped: {skipped}" if skipped else "not run", ""]
    g = r["gpu"]
    return [
        "## 9. GPU",
        "",
        f"{g['count']} × {g['device']}: ONNX Runtime {g['provider']} renders the pair with the "
        f"`base` model at **{r['gpu_ort_cuda_rtf']:.1f}× real time**; training (`base`, NCCL, "
        f"{g['train']['processes']} process(es)): **{r['gpu_train_samples_per_s']:.2f} "
        "samples/s**.",
        "",
    ]
