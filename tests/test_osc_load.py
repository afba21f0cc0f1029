"""Load: 1,000 pings and 20 renders sent while another render runs; every command gets
exactly one /done or /fail, and pings are answered while renders run."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from test_osc_harness import OscClient, Reply, make_clips, start_server

PINGS = 1000
BURST = 100  # pings sent back to back before reading their answers
RENDERS = 20
QUEUE_SIZE = 8  # smaller than RENDERS: some renders must be refused with "queue full"
LONG_S = 60.0  # the render running while the load arrives (seconds of mono audio, ~0.35 s)
DEADLINE_S = 120.0  # for everything to be answered on a loaded 2-core CI machine


def test_pings_and_renders_while_a_render_runs(tmp_path: Path, tiny_onnx: Path) -> None:
    root = tmp_path
    make_clips(root)
    make_clips(root, LONG_S, prefix="long_", channels=1)
    server = start_server(root, "--model", str(tiny_onnx), "--queue-size", str(QUEUE_SIZE))
    c = OscClient(server.address)
    log: list[tuple[float, Reply]] = []

    def collect_until(pred: object, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            r = c.recv(timeout=max(deadline - time.perf_counter(), 0.001))
            if r is None:
                break
            log.append((time.perf_counter(), r))
            if pred(r):  # type: ignore[operator]
                return
        raise AssertionError(f"timed out; last replies {[r for _, r in log[-5:]]}")

    try:
        c.send("/agent/render", "long_in.wav", "long_tg.wav", "long_out.wav", "long")
        collect_until(lambda r: r[0] == "/agent/render/progress", DEADLINE_S)
        for i in range(RENDERS):
            c.send("/agent/render", "in.wav", "tg.wav", f"out{i}.wav", f"r{i}")
        sent_at: dict[int, float] = {}
        for start in range(1, PINGS + 1, BURST):
            last = start + BURST - 1
            for token in range(start, last + 1):
                sent_at[token] = time.perf_counter()
                c.send("/agent/ping", token)
            collect_until(lambda r, last=last: r == ("/done", ["/agent/ping", last]), DEADLINE_S)
        pings_done_at = time.perf_counter()
        clips = {"long", *(f"r{i}" for i in range(RENDERS))}

        def all_renders_final(_: Reply) -> bool:
            finished = {
                r[1][1] if r[0] == "/done" else r[1][2]
                for _, r in log
                if r[0] in ("/done", "/fail") and r[1][0] == "/agent/render"
            }
            return finished >= clips

        if not all_renders_final(("", [])):
            collect_until(all_renders_final, DEADLINE_S)
        log.extend((time.perf_counter(), r) for r in c.drain(0.3))
    finally:
        c.close()
        assert server.stop() == 0, server.output()

    replies = [r for _, r in log]
    # pings: exactly one pong and one /done each, no /fail
    pongs = Counter(r[1][0] for r in replies if r[0] == "/agent/pong")
    ping_done = Counter(r[1][1] for r in replies if r[0] == "/done" and r[1][0] == "/agent/ping")
    assert pongs == Counter(range(1, PINGS + 1))
    assert ping_done == Counter(range(1, PINGS + 1))
    assert not [r for r in replies if r[0] == "/fail" and r[1][0] == "/agent/ping"]
    # renders: exactly one final each
    finals: Counter[str] = Counter()
    failed: dict[str, str] = {}
    for addr, args in replies:
        if addr == "/done" and args[0] == "/agent/render":
            finals[args[1]] += 1
        elif addr == "/fail" and args[0] == "/agent/render":
            finals[args[2]] += 1
            failed[args[2]] = args[1]
    assert finals == Counter({"long": 1, **{f"r{i}": 1 for i in range(RENDERS)}})
    # The queue holds QUEUE_SIZE behind the running render: the rest are refused.
    assert set(failed.values()) <= {f"queue full ({QUEUE_SIZE} jobs waiting)"}, failed
    assert len(failed) == RENDERS - QUEUE_SIZE, failed
    done = [c for c in finals if c not in failed]
    for clip in done:
        name = "long_out.wav" if clip == "long" else f"out{clip[1:]}.wav"
        assert (root / name).is_file()
    for clip in failed:
        assert not (root / f"out{clip[1:]}.wav").exists()
    # pings were answered while the long render ran (a server that blocked on it would
    # answer the first ping only after the render's /done)
    long_final_at = next(t for t, r in log if r == ("/done", ["/agent/render", "long"]))
    first_ping_at = next(t for t, r in log if r == ("/done", ["/agent/ping", 1]))
    assert first_ping_at < long_final_at
    print(f"1000 pings answered in {pings_done_at - min(sent_at.values()):.2f} s")
    rtts = sorted(
        t - sent_at[r[1][1]] for t, r in log if r[0] == "/done" and r[1][0] == "/agent/ping"
    )
    print(
        f"ping round trip during renders: median {rtts[len(rtts) // 2] * 1e3:.2f} ms, "
        f"p99 {rtts[int(len(rtts) * 0.99)] * 1e3:.2f} ms, max {rtts[-1] * 1e3:.2f} ms"
    )
