"""Sections 4-5 of benchmarks.md: the commands in fresh processes (render-batch throughput,
the cold start of a render) and the OSC render round trip, each from the results alone."""

from __future__ import annotations

from typing import Any


def _runs(xs: list[float] | None, scale: float = 1.0, spec: str = ".3f") -> str:
    return ", ".join(f"{scale * x:{spec}}" for x in xs) if xs else "n/a"


def md_processes(r: dict[str, Any]) -> list[str]:
    if r.get("render_batch_rtf") is None:
        return ["## 4. Commands in fresh processes", "", "not run", ""]
    p, runs = r["processes"], r["runs_s"].get("processes") or {}
    b, c = p["render_batch"], p["cold_start"]
    return [
        "## 4. Commands in fresh processes",
        "",
        "Wall time of the whole command (`subprocess.run`), process start, imports and model "
        "load included; medians over the timed runs.",
        "",
        "| figure | command | median s | result | runs (s) |",
        "|---|---|---:|---:|---|",
        f"| `render_batch_rtf` | `{b['command']}` ({b['pairs']} pairs of "
        f"{b['seconds_each']:g} s, {b['workers']} workers) | {r['render_batch_seconds']:.3f} | "
        f"**{r['render_batch_rtf']:.1f}× real time** | {_runs(runs.get('render_batch'))} |",
        f"| `cold_start_s` | `{c['command']}` ({c['seconds']:g} s pair) | "
        f"{r['cold_start_s']:.3f} | **{r['cold_start_s']:.2f} s** | "
        f"{_runs(runs.get('cold_start'))} |",
        "",
    ]


def md_osc(r: dict[str, Any]) -> list[str]:
    if r.get("osc_roundtrip_p95_ms") is None:
        return ["## 5. OSC render round trip", "", "not run", ""]
    o = r["osc"]
    runs = (r["runs_s"].get("osc") or {}).get("osc_roundtrip")
    return [
        "## 5. OSC render round trip",
        "",
        "A real `creative-agent serve` subprocess and a real UDP client on loopback: "
        f"{o['renders']} renders of a {o['seconds_each']:g} s pair, one at a time, each from "
        "`/agent/render` sent to its `/done` received (queue, progress, report message and "
        "files included).",
        "",
        f"- `osc_roundtrip_p50_ms` = **{r['osc_roundtrip_p50_ms']:.1f} ms**, "
        f"`osc_roundtrip_p95_ms` = **{r['osc_roundtrip_p95_ms']:.1f} ms**.",
        f"- every round trip (ms): {_runs(runs, 1000.0, '.0f')}.",
        "",
    ]
