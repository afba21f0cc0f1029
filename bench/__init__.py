"""The project's benchmarks (``creative-agent bench``) and the demo (``creative-agent demo``).

Outside the host, the model and the export: this package may import all of them, and
nothing imports it. ``bench.cli`` runs the benchmark sections below, measured within one run
on one machine, and writes ``OUT/benchmarks.md`` and ``OUT/bench.json``:

1. host vs PyTorch eager at its best thread count (``bench.host_vs_torch``) ->
   ``host_vs_torch_ratio``;
2. host vs the floor: the host's streaming path with an identity core (``bench.floor``)
   -> ``host_vs_floor_ratio``; and vs the FFT floor: framing, window and the bare float32
   FFTs of the same frames (``bench.fft_floor``) -> ``host_vs_fft_floor_ratio``;
3. end to end with chains and the report, per stage (``bench.end_to_end``) ->
   ``end_to_end_rtf``; then the CPU budget of the speed targets (``bench.cpu_budget``):
   CPU seconds of the host, the FFT floor, the end-to-end render and the chain's plugins
   alone, against what the targets allow on the cores, with what the threads add
   (``bench.usage``: kernel time, context switches, page faults) and the best each target
   allows from the host's work on one thread at the machine's measured parallel
   throughput (``bench.parallel``) -> ``cpu_budget``;
4. the commands in fresh processes (``bench.processes``): ``render-batch`` throughput ->
   ``render_batch_rtf``, a ``render``'s cold start -> ``cold_start_s``;
5. the OSC render round trip through a real ``serve`` subprocess (``bench.osc_roundtrip``)
   -> ``osc_roundtrip_p50_ms``, ``osc_roundtrip_p95_ms``;
6. peak RSS per clip length, each render in a fresh ``python -m bench.rss_probe`` process
   (``bench.memory``) -> ``rss_last_over_first`` (lengths in ``memory_seconds``);
7. the plain 50/50 sum and a channel vocoder (``bench.baselines``), timed and scored with
   the report's measures (``bench.mixes``);
8. training samples/s of ``torchrun`` with 1 and 2 CPU processes (``bench.training``) ->
   ``ddp_scaling_2_over_1``;
9. GPU: ONNX Runtime CUDA and NCCL training (``bench.gpu``), or why it was skipped.

Beside the machine and its load, every run records the CPU steal of the whole run and of
each section (``bench.steal``): on a shared VM it moves every figure.
``bench.markdown``, ``bench.markdown_sections`` and ``bench.markdown_processes`` write
the report from the results alone.
This ``__init__`` imports nothing: ``python -m bench.rss_probe`` must start without torch.
"""
