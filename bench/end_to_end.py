"""Section 3: the whole render with chains and a report file, with its seconds per stage."""

from __future__ import annotations

from typing import Any

from bench.config import CHAIN
from bench.context import Setup, host_render
from bench.cpu_budget import chain_plugins_cpu
from bench.timing import median, median_split, rounds, rtf, stage_split
from bench.usage import median_usage
from plugin_host.chain import Chain


def section_chains(s: Setup) -> dict[str, Any]:
    """read -> input/target chains -> agent -> output chain -> write -> report (:data:`CHAIN`)."""
    chain = Chain.from_json(CHAIN)
    splits: list[dict[str, float]] = []

    def e2e() -> None:
        rep, wall, core = host_render(s, s.out("e2e"), chain, s.tmp / "e2e_report.json")
        splits.append(stage_split(rep, wall, core))

    cpu: dict[str, list[float]] = {}
    usage: dict[str, list[dict[str, float]]] = {}
    times = rounds({"end_to_end": e2e}, s.cfg.runs, s.cfg.warmup, "end to end with chains",
                   cpu=cpu, usage=usage)  # fmt: skip
    med = median(times["end_to_end"])
    return {
        "end_to_end_seconds": med,
        "end_to_end_cpu_seconds": median(cpu["end_to_end"]),
        "end_to_end_usage": median_usage(usage["end_to_end"]),
        "chain_plugins_cpu_seconds": chain_plugins_cpu(s, s.cfg.runs),
        "end_to_end_rtf": rtf(s.cfg.seconds, med),
        "end_to_end_stages_s": median_split(splits[s.cfg.warmup :]),
        "chain": CHAIN,
        "runs_s": times,
    }
