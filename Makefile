# idarts: two commands do everything on a fresh machine.
#   make test                      nbdev_test (notebooks) + pytest (CLI, resume, DDP, bad input)
#   make reproduce [PROFILE=cpu]   regenerate every figure and table of the profile (smoke|cpu|paper), SEEDS seeds per space
#   make reproduce PROFILE=paper DRY_RUN=1   every stage at full size for a few steps: tables/paper/dryrun.md
#   make reproduce PROFILE=paper DRY_RUN=1 GPUS=3   ... and which stage would run on which of 3 GPUs when (the makespan)
#   make reproduce GPUS=N GPUS_PER_TRAIN=k   stages on the first N visible GPUs, one each; a training on k (torchrun)
#   make reproduce EXECUTOR=slurm [SLURM_PARTITION=p] [PRINT_SBATCH=1]   every stage a Slurm job (submitit); or print the scripts
#   make study [PROFILE=cpu]       the main comparison over 8 seeds per space, the exact Hessian indicator, exact second order
#   make study-long [PROFILE=cpu]  the paper's 50 search epochs (original, improved, original-crc; 2 seeds) and the ablation
#   make remedies [PROFILE=cpu]    six remedies for skip collapse from the NAS literature on the original space (3 seeds each)
#   make lab                       JupyterLab on nbs/ (the notebooks, run top to bottom)
#   make install TORCH_INDEX=cpu   which torch build: cpu, cu126, cu128, ... (PyTorch's wheel index); default: pip's index
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
# empty: pip's configured index (on PyPI, Linux x86_64: the CUDA build); cpu | cu126 | cu128 | ...: PyTorch's wheel index
TORCH_INDEX ?=
TORCH_INDEX_URL := $(if $(TORCH_INDEX),$(if $(findstring ://,$(TORCH_INDEX)),$(TORCH_INDEX),https://download.pytorch.org/whl/$(TORCH_INDEX)),)
LAB_PORT ?= 8888
PROFILE ?= cpu
FORCE ?= 0
# DRY_RUN=1: `make reproduce` runs every stage at the profile's sizes for a few steps (memory, s/step, projected GPU time) instead
DRY_RUN ?= 0
JOBS ?=
SEEDS ?=
# GPUS=N: place stages on the first N visible GPUs (default: all; 0: none); with DRY_RUN=1, the schedule on N GPUs
GPUS ?=
# GPUS_PER_TRAIN=k: a training stage runs under torchrun on k GPUs (default: smoke 1, cpu 1, paper 3)
GPUS_PER_TRAIN ?=
# EXECUTOR=slurm: every stage a Slurm job through submitit (submitit-local: the same, as local processes); PRINT_SBATCH=1: print the scripts only
EXECUTOR ?= local
PRINT_SBATCH ?= 0
SLURM_PARTITION ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.idarts-installed
export IDARTS_DATA ?= $(CURDIR)/data
# one thread per process beats oversubscription on small CPUs; override with OMP_NUM_THREADS=...
export OMP_NUM_THREADS ?= 1
export MPLBACKEND ?= Agg
# papermill kernels and console scripts come from the venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: test reproduce study study-long remedies install export lab

$(STAMP): settings.ini setup.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)" $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL),)
	$(BIN)/python -m pip install -q -e ".[dev]"
	echo "$(TORCH) $(TORCH_INDEX_URL)" > $(STAMP)

# `make install TORCH_INDEX=...` on an existing .venv switches its torch build
install: $(STAMP)
	@if [ -n "$(TORCH_INDEX)" ] && [ "$$(cat $(STAMP))" != "$(TORCH) $(TORCH_INDEX_URL)" ]; then \
	  set -x; $(BIN)/python -m pip install -q --force-reinstall "$(TORCH)" --index-url $(TORCH_INDEX_URL) && \
	  echo "$(TORCH) $(TORCH_INDEX_URL)" > $(STAMP); fi
	@$(BIN)/python -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda or 'none')"

# tests never download: a missing data set stays an error
test: export IDARTS_OFFLINE = 1
test: $(STAMP)
	$(BIN)/nbdev_test --n_workers 2 --timing
	$(BIN)/python -m pytest -q tests

GPU_ARGS = $(if $(GPUS),--gpus $(GPUS),) $(if $(GPUS_PER_TRAIN),--gpus-per-train $(GPUS_PER_TRAIN),)
CLUSTER_ARGS = $(if $(filter-out local,$(EXECUTOR)),--executor $(EXECUTOR),) $(if $(filter 1,$(PRINT_SBATCH)),--print-sbatch,) $(if $(SLURM_PARTITION),--slurm-partition $(SLURM_PARTITION),)
REPRO_ARGS = --profile $(PROFILE) $(if $(filter 1,$(FORCE)),--force,) $(if $(JOBS),--jobs $(JOBS),) $(if $(SEEDS),--seeds $(SEEDS),) $(GPU_ARGS) $(CLUSTER_ARGS)
DRY_ARGS = --profile $(PROFILE) --out tables/$(PROFILE) $(if $(SEEDS),--seeds $(SEEDS),) $(GPU_ARGS)

reproduce: $(STAMP)
	$(if $(filter 1,$(DRY_RUN)),$(BIN)/python -m idarts dryrun $(DRY_ARGS),$(BIN)/python -m idarts reproduce --group paper $(REPRO_ARGS))

study: $(STAMP)
	$(BIN)/python -m idarts reproduce --group study $(REPRO_ARGS)

study-long: $(STAMP)
	$(BIN)/python -m idarts reproduce --group long $(REPRO_ARGS)

remedies: $(STAMP)
	$(BIN)/python -m idarts reproduce --group remedies $(REPRO_ARGS)

export: $(STAMP)
	$(BIN)/nbdev_export
	$(BIN)/nbdev_clean

# JupyterLab on nbs/ with the venv's kernel and the same IDARTS_DATA / threads as `make` (inline plots: no MPLBACKEND);
# LAB_ARGS=--no-browser on a remote machine; Ctrl-C stops it
lab: $(STAMP)
	env -u MPLBACKEND $(BIN)/jupyter lab --ServerApp.root_dir=nbs --port=$(LAB_PORT) $(if $(filter 0,$(shell id -u)),--allow-root,) $(LAB_ARGS)
