# creative-agent — two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DIR ?= runs/demo
PY_DIRS := plugin_host model training export bench tests

.PHONY: demo test lint bench gpu-check experiment experiment-real default-model sysdeps soundfonts clean help

help:
	@echo "make demo        create .venv, install, train a small model, export, render, report"
	@echo "make test        run the test suite (CPU, a few minutes)"
	@echo "make lint        ruff + mypy + import-linter (layers)"
	@echo "make bench       benchmarks -> docs/benchmarks.md, docs/bench.json"
	@echo "make gpu-check   GPU paths in one JSON summary (skipped without CUDA; <= 5 min)"
	@echo "make experiment  the seed-fix experiment -> docs/experiment-seed-fix.md"
	@echo "make experiment-real  real-instrument ablation -> docs/experiment-real-instruments.md"
	@echo "make default-model    retrain the bundled model -> plugin_host/models, docs/model-card.md"
	@echo "make soundfonts  SoundFonts + tinysoundfont for the sampled-instrument data"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# liblo-tools gives the OSC tests an independent real client (oscsend/oscdump).
sysdeps:
	@{ command -v oscsend && command -v strace; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && apt-get install -y -qq liblo-tools strace >/dev/null) || echo "warning: could not install liblo-tools strace"; \
	  else echo "note: install liblo-tools (oscsend/oscdump) and strace for the OSC interop and network tests"; fi; }

# Sampled instruments for training/data/soundfont (docs/data.md): Debian's SoundFont packages
# (apt-get as root) and tinysoundfont, pinned (the cache of rendered pairs assumes its output)
# and installed --no-deps: its declared pyaudio dependency needs the PortAudio headers to
# build and serves only live playback, which the project never uses.
SOUNDFONT_PKGS := timgm6mb-soundfont csound-soundfont avldrums.lv2-soundfont opl3-soundfont
TINYSOUNDFONT  := tinysoundfont==0.3.7
soundfonts: $(STAMP)
	@if command -v dpkg >/dev/null 2>&1; then \
	  missing=""; for p in $(SOUNDFONT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	    else echo "error: the Debian packages$$missing are missing: run 'make soundfonts' as root"; exit 1; fi; \
	  fi; \
	else echo "note: no dpkg; set CREATIVE_AGENT_SF2_PATH to the folders holding the .sf2 files"; fi
	$(BIN)/python -m pip install -q --no-deps '$(TINYSOUNDFONT)'

demo: $(STAMP) soundfonts
	$(BIN)/creative-agent demo --out $(DEMO_DIR)

test: $(STAMP) sysdeps soundfonts
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)
	$(BIN)/mypy plugin_host model training export bench
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/creative-agent bench --out docs

gpu-check: $(STAMP)
	$(BIN)/creative-agent check-gpu

experiment: $(STAMP)
	$(BIN)/creative-agent experiment seed-fix --out runs/experiment --docs docs

experiment-real: $(STAMP) soundfonts
	$(BIN)/creative-agent experiment-real --runs runs/experiment-real --docs docs

default-model: $(STAMP) soundfonts
	$(BIN)/creative-agent default-model --runs runs/experiment-real --card docs/model-card.md

clean:
	rm -rf runs build *.egg-info .pytest_cache .mypy_cache .ruff_cache
