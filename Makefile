# idarts: two commands do everything on a fresh machine.
#   make test                      nbdev_test (notebooks) + pytest (CLI, resume, DDP, bad input)
#   make reproduce [PROFILE=cpu]   regenerate every figure and table of the profile (smoke|cpu|paper), SEEDS seeds per space
#   make study [PROFILE=cpu]       the ablation of the paper's four changes and the collapse indicators
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
PROFILE ?= cpu
FORCE ?= 0
JOBS ?=
SEEDS ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.idarts-installed
export IDARTS_DATA ?= $(CURDIR)/data
# one thread per process beats oversubscription on small CPUs; override with OMP_NUM_THREADS=...
export OMP_NUM_THREADS ?= 1
export MPLBACKEND ?= Agg
# papermill kernels and console scripts come from the venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: test reproduce study install export

$(STAMP): settings.ini setup.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/nbdev_test --n_workers 2 --timing
	$(BIN)/python -m pytest -q tests

REPRO_ARGS = --profile $(PROFILE) $(if $(filter 1,$(FORCE)),--force,) $(if $(JOBS),--jobs $(JOBS),) $(if $(SEEDS),--seeds $(SEEDS),)

reproduce: $(STAMP)
	$(BIN)/python -m idarts.reproduce --group paper $(REPRO_ARGS)

study: $(STAMP)
	$(BIN)/python -m idarts.reproduce --group study $(REPRO_ARGS)

export: $(STAMP)
	$(BIN)/nbdev_export
	$(BIN)/nbdev_clean
