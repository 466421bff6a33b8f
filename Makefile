# fem-assb: `make setup`, `make test`, `make demo` (see README.md).
SHELL := /bin/bash
RUN := ./scripts/env-run
PYTEST := python3 -m pytest -p no:cacheprovider --color=no
NP ?= 2

.PHONY: setup test test-serial test-mpi test-slow demo lint bench clean-env

setup:
	@bash scripts/setup-env.sh

test: test-serial test-mpi

test-serial:
	$(RUN) $(PYTEST) -q -m "not mpi and not slow" tests

test-mpi:
	$(RUN) mpirun -n $(NP) $(PYTEST) -q -m "mpi and not slow" tests

test-slow:
	$(RUN) $(PYTEST) -q -m "slow and not mpi" tests
	$(RUN) mpirun -n $(NP) $(PYTEST) -q -m "slow and mpi" tests || test $$? -eq 5  # 5: none marked yet

demo:
	./fem-assb --np $(NP) demo   # 40^3 voxels: about 2 min on 2 cores (110 s measured, session 6)

LINT_VENV := /var/cache/fem-assb/lint-venv

lint:  # ruff from PyPI in a small host venv (not part of the simulation environment)
	@[ -x $(LINT_VENV)/bin/ruff ] || { python3 -m venv $(LINT_VENV) && $(LINT_VENV)/bin/pip install -q ruff; }
	$(LINT_VENV)/bin/ruff check fem_assb tests benchmarks

bench:
	python3 benchmarks/keff_vs_taufactor.py
