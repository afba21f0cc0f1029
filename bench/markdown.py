"""``benchmarks.md`` from the results of :func:`bench.run.run`: the machine, the targets,
the numbered sections (``bench.markdown_sections``) and a closing note."""

from __future__ import annotations

from typing import Any

from bench.config import RSS_RATIO_KEY, SETTLE_S
from bench.cpu_budget import md_cpu_budget
from bench.faults import md_faults
from bench.markdown_processes import md_osc, md_processes
from bench.markdown_sections import (
    fmt,
    md_baselines,
    md_chains,
    md_gpu,
    md_host,
    md_memory,
    md_train,
)


def _steal(r: dict[str, Any]) -> str:
    """The run's CPU steal and each section's, for people."""
    steal = r.get("steal_percent") or {}
    if steal.get("run") is None:
        return "n/a (no /proc/stat)"
    parts = ", ".join(f"{k} {fmt(v, '.1f')} %" for k, v in steal.items() if k != "run")
    return f"{steal['run']:.1f} % of the machine's CPU time over the run ({parts})"


def _md_machine(r: dict[str, Any]) -> list[str]:
    m, c, v = r["machine"], r["config"], r["machine"]["versions"]
    model = r.get("model") or {}
    load = ", ".join(f"{x:g}" for x in m["load_average_start"])
    load_end = ", ".join(f"{x:g}" for x in m.get("load_average_end", []))
    commit = m.get("git_commit") or "n/a"
    if m.get("git_dirty"):
        commit += " (with uncommitted changes)"
    return [
        "## Machine and setup",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {m['cpu']} |",
        f"| cores | {m['cores']} ({m['cores_available']} available to this process) |",
        f"| RAM | {fmt(m['ram_gib'], '.1f', ' GiB')} |",
        f"| platform | {m['platform']} |",
        f"| load average (1, 5, 15 min) | {load} at the start, {load_end} at the end: other "
        "processes may have been running; a load above the core count slows every figure |",
        f"| CPU steal | {_steal(r)}: time the hypervisor gave this VM's CPUs to other "
        "machines; it slows every figure it overlaps (`bench.steal`) |",
        f"| versions | Python {v['python']}, numpy {v['numpy']}, scipy {v['scipy']}, torch "
        f"{v['torch']}, onnxruntime {v['onnxruntime']}, pedalboard {v['pedalboard']} |",
        f"| commit | {commit} |",
        f"| model | {model.get('source', 'n/a')}: {fmt(model.get('n_params'), 'd')} parameters, "
        f"ONNX Runtime on {model.get('provider', 'n/a')} |",
        f"| pair | {c['pair']} |",
        f"| threads | {c['threads']} (torch.set_num_threads, ONNX Runtime intra-op, "
        "scipy.fft workers) |",
        f"| timing | median of {c['runs']} runs after {c['warmup']} warm-up; contenders "
        f"interleaved round by round, order rotated each round, {SETTLE_S:g} s idle before "
        "each call; `time.perf_counter` |",
        "",
    ]


def _md_targets(r: dict[str, Any]) -> list[str]:
    lines = ["## Targets", "", "| figure | value | target | met |", "|---|---:|---:|---|"]
    for key, t in r["targets"].items():
        met = fmt(t["met"]) + (" (informational)" if t["informational"] else "")
        lines.append(f"| `{key}` | {fmt(t['value'])} | {t['target']} | {met} |")
    return [*lines, ""]


def _met(r: dict[str, Any], key: str) -> str:
    t = r["targets"][key]
    return f"target {t['target']}: {'met' if t['met'] else 'NOT met'}"


def _note_host(r: dict[str, Any]) -> str:
    one = r.get("host_vs_torch_1thread_ratio")
    vs_one = f"; {one:.2f}× against PyTorch on one thread" if one else ""
    one_best = r.get("torch_best_threads") == 1 and r.get("torch_1thread_rtf") is not None
    torch_rtf = r["torch_1thread_rtf"] if one_best else r["torch_rtf"]
    return (
        f"The host renders the {r['config']['seconds']:g} s stereo pair at "
        f"{r['host_rtf']:.0f}× real time, {r['host_vs_torch_ratio']:.2f}× faster than the same "
        f"weights in PyTorch eager at its best thread count ({r.get('torch_best_threads')}: "
        f"{torch_rtf:.0f}×; {_met(r, 'host_vs_torch_ratio')}"
        f"{vs_one}), and takes {r['host_vs_floor_ratio']:.2f}× the time of its own streaming "
        f"path with an identity core and {r['host_vs_fft_floor_ratio']:.2f}× that of the "
        f"bare FFTs of the same frames ({r['fft_floor_rtf']:.0f}× real time; "
        f"{_met(r, 'host_vs_fft_floor_ratio')})."
    )


def _note_memory(r: dict[str, Any]) -> str:
    rows = list(r["rss"].values())
    imported = "imported" if r["memory_torch_imported"] else "never imported"
    return (
        f"Peak memory is {rows[0]['peak_mib']:.0f} MiB for {rows[0]['seconds']:g} s and "
        f"{rows[-1]['peak_mib']:.0f} MiB for {rows[-1]['seconds']:g} s "
        f"({r[RSS_RATIO_KEY]:.2f}×; {_met(r, RSS_RATIO_KEY)}); the render processes {imported} "
        "torch."
    )


def _note_baselines(r: dict[str, Any]) -> str:
    b = r["baselines"]

    def corr(name: str) -> str:
        row = b[name]
        return f"{fmt(row['output_input_corr'])}/{fmt(row['output_target_corr'])}"

    return (
        f"Scored the same way, the agent's output has corr in/tg {corr('agent')} "
        f"({fmt(b['agent']['verdict'])}), the 50/50 sum {corr('sum')} and the vocoder "
        f"{corr('vocoder')}."
    )


def _note_targets(r: dict[str, Any]) -> str:
    """Each target against the figure this run reached, and the run's load."""
    m = r["machine"]
    load = (
        f"load average {m['load_average_start'][0]:g} at the start and "
        f"{(m.get('load_average_end') or ['n/a'])[0]} at the end on {m['cores_available']} cores"
    )
    steal = (r.get("steal_percent") or {}).get("run")
    if steal is not None:
        load += f", CPU steal {steal:.1f} %"
    parts = []
    for key, t in r["targets"].items():
        verdict = "not measured" if t["met"] is None else "met" if t["met"] else "NOT met"
        extra = ", informational" if t["informational"] else ""
        parts.append(f"`{key}` {fmt(t['value'])} (target {t['target']}: {verdict}{extra})")
    return f"Targets in this run ({load}): " + "; ".join(parts) + "."


def _note_processes(r: dict[str, Any]) -> str:
    b = r["processes"]["render_batch"]
    return (
        f"`creative-agent render-batch` renders {b['pairs']} pairs of {b['seconds_each']:g} s "
        f"with {b['workers']} workers at {r['render_batch_rtf']:.0f}× real time, process "
        f"start included; a `creative-agent render` of a "
        f"{r['processes']['cold_start']['seconds']:g} s pair takes {r['cold_start_s']:.2f} s "
        "from start to exit."
    )


def _md_note(r: dict[str, Any]) -> list[str]:
    out = [_note_targets(r)]
    if r.get("host_rtf") is not None:
        out.append(_note_host(r))
    if r.get("end_to_end_rtf") is not None:
        out.append(
            f"With chains and a report file the render runs at {r['end_to_end_rtf']:.0f}× real "
            f"time ({r['end_to_end_seconds']:.2f} s; {_met(r, 'end_to_end_rtf')})."
        )
    if r.get("render_batch_rtf") is not None:
        out.append(_note_processes(r))
    if r.get("osc_roundtrip_p95_ms") is not None:
        out.append(
            f"An OSC render of a {r['osc']['seconds_each']:g} s pair answers `/done` in "
            f"{r['osc_roundtrip_p50_ms']:.0f} ms (p50), {r['osc_roundtrip_p95_ms']:.0f} ms (p95)."
        )
    if r.get(RSS_RATIO_KEY) is not None:
        out.append(_note_memory(r))
    if r.get("baselines"):
        out.append(_note_baselines(r))
    if r.get("ddp_scaling_2_over_1") is not None:
        out.append(
            f"Training runs at {r['ddp_samples_per_s_1']:.2f} samples/s with one process and "
            f"{r['ddp_samples_per_s_2']:.2f} with two ({r['ddp_scaling_2_over_1']:.2f}×)."
        )
    gpu = "see section 9" if r.get("gpu") is not None else "not run"
    if r.get("gpu_skipped"):
        gpu = "skipped: " + r["gpu_skipped"]
    out.append(f"GPU: {gpu}.")
    return ["## Closing note", "", " ".join(out), ""]


def to_markdown(r: dict[str, Any]) -> str:
    """``benchmarks.md`` from the results of :func:`bench.run.run` (every figure from them)."""
    lines = [
        "# Benchmarks",
        "",
        f"Written by `{r.get('command', 'creative-agent bench')}` on "
        f"{r['machine']['date_utc']} UTC in {r['total_seconds']:.0f} s (`make bench` runs "
        "`creative-agent bench --out docs`). Every figure below is in `bench.json` beside "
        "this file. RTF / × real time = audio seconds / wall seconds. Absolute times drift "
        "with the machine and its load: compare figures of one run with each other.",
        "",
    ]
    if r["quick"]:
        lines += [
            "**Quick run (`--quick`): short clips, one run, small sizes — a smoke test of "
            "the machinery; its figures say nothing about speed.**",
            "",
        ]
    parts = (_md_machine, _md_targets, md_host, md_chains, md_cpu_budget, md_processes,
             md_osc, md_memory, md_baselines, md_train)  # fmt: skip
    for part in (*parts, md_gpu, md_faults, _md_note):
        lines += part(r)
    return "\n".join(lines)
