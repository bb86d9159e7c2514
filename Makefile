# Workshop: the two set-up commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The Dagster instance (every run the UI shows): the project's `.dagster_home`, or with another
# WORKSHOP_DATA_DIR (a warehouse holds one market source) `.dagster_home` in that folder, so each
# data folder keeps its own run history (workshop_dagster/job_runs.instance_folder).
DATA_FOLDER := $(abspath $(or $(WORKSHOP_DATA_DIR),data))
export DAGSTER_HOME ?= $(if $(filter $(DATA_FOLDER),$(CURDIR)/data),$(CURDIR)/.dagster_home,$(DATA_FOLDER)/.dagster_home)
# One planned event per asset for a single-run backfill (see workshop_dagster/__init__.py).
export DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS ?= true

.PHONY: install lock instance demo backfill cluster test test-lake test-cluster bench-check lint format ui validate evaluate compare verify copy-to-lake bench clean

# The versions every host runs: requirements/dev.lock (everything `make test` needs; the
# Dockerfile installs requirements/deploy.lock, the same versions without the test tools).
# `make lock` writes both from pyproject.toml; each package's hash is checked as it installs.
# Compiled to bytecode as it installs (pip did so, uv does not by default): with
# PYTHONDONTWRITEBYTECODE set, every process would otherwise compile Dagster from source.
LOCK := requirements/dev.lock
UV_VERSION := $(shell sed -n 's/^uv==\([^ ]*\).*/\1/p' $(LOCK))
LOCK_ARGS := --universal --generate-hashes --python-version 3.11 --quiet

$(STAMP): pyproject.toml $(LOCK)
	@echo "Creating $(VENV) and installing Workshop at the versions of $(LOCK) (Dagster, DuckDB, great_expectations, the test tools: about a minute, once; again when the lock changes)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --progress-bar off "uv==$(UV_VERSION)"
	$(BIN)/uv pip sync --python $(BIN)/python --require-hashes --compile-bytecode $(LOCK)
	$(BIN)/uv pip install --python $(BIN)/python --no-deps -e .
	@echo "Installed into $(VENV)"
	touch $(STAMP)

# After a change to the dependencies in pyproject.toml: the locks again, every version already
# locked kept where it still satisfies them (UPGRADE=1: the newest that do).
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_ARGS) $(if $(UPGRADE),--upgrade) -o $(LOCK)
	$(BIN)/uv pip compile pyproject.toml --extra postgres --extra lake --extra cluster $(LOCK_ARGS) -c $(LOCK) \
	  -o requirements/deploy.lock
	@echo "make install (or rm $(STAMP)) syncs $(VENV) to the new lock"

# Bytecode written once here: every run process loads the code location, and an environment
# with PYTHONDONTWRITEBYTECODE would otherwise compile the package at each load (~45 ms).
install: $(STAMP)
	@$(BIN)/python -m compileall -q workshop_dagster

# The instance file is the user's once made (docs/operations.md: PostgreSQL storage goes there):
# created from the project's dagster.yaml when missing, never overwritten; a note says when the
# project's has changed since.
$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

instance: $(DAGSTER_HOME)/dagster.yaml
	@test -w "$(DAGSTER_HOME)" || { echo "DAGSTER_HOME=$(DAGSTER_HOME) is not writable (a read-only folder or file system?): the Dagster instance records every run there; give DAGSTER_HOME a writable folder" >&2; exit 2; }
	@cmp -s dagster.yaml $(DAGSTER_HOME)/dagster.yaml || echo "note: $(DAGSTER_HOME)/dagster.yaml differs from the project's dagster.yaml and is kept as it is (diff the two to take the project's changes)"

demo: install instance
	$(BIN)/python -m workshop_dagster.commands.demo $(DEMO_ARGS)

# A job over a range of cycles in one run, in the project's instance, then the rollups
# (workshop_dagster/commands/backfill.py): make backfill FROM=2026-03-02-09:15 TO=2026-03-31-19:15
# [JOB=placebo_cycle] [BACKFILL_ARGS=--amend].
JOB ?= cycle
backfill: install instance
	@test -n "$(FROM)" -a -n "$(TO)" || { echo "make backfill needs FROM=<cycle> TO=<cycle>, e.g. FROM=2026-03-02-09:15 TO=2026-03-31-19:15" >&2; exit 2; }
	$(BIN)/python -m workshop_dagster.commands.backfill $(FROM) $(TO) --job $(JOB) $(BACKFILL_ARGS)

# Three workers on two cores: the end-to-end files spend most of their time waiting on daemons,
# servers and subprocesses (5.5 min instead of 6.6 with two). Files go to the workers in
# collection order, the slowest first (tests/conftest.py): xdist's default reorder puts the
# files with the most tests first, which left the few long end-to-end ones for the tail.
# `dg check defs` and the suite never touch the project's instance (DAGSTER_HOME, the runs the
# UI shows): both get a throwaway one made from the project's dagster.yaml, removed after.
# (`dg check defs` under the project's DAGSTER_HOME made `.dagster_home` on a fresh clone,
# without its dagster.yaml, and the first `make demo` then migrated its empty event log.)
test: install
	$(BIN)/ruff check workshop_dagster tests benchmarks
	$(BIN)/ruff format --check workshop_dagster tests benchmarks
	@scratch=$$(mktemp -d -t workshop-test-dagster-home.XXXXXX) && cp dagster.yaml $$scratch/ && \
	echo "DAGSTER_HOME=$$scratch (a throwaway instance; the project's is left as it is)" && \
	echo "dg check defs" && \
	DAGSTER_HOME=$$scratch VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg check defs && \
	echo 'pytest -q -n 3 --dist loadfile --no-loadscope-reorder -m "not bench and not cluster"' && \
	DAGSTER_HOME=$$scratch $(BIN)/python -m pytest -q -n 3 --dist loadfile --no-loadscope-reorder \
	  -m "not bench and not cluster"; \
	status=$$?; rm -rf $$scratch; exit $$status

# The integration tests again with every warehouse a DuckLake (docs/operations.md, "A shared
# warehouse"): its catalog on a PostgreSQL server each test worker starts on 127.0.0.1 (Debian's
# postgresql; skipped with the reason without it), its Parquet files in the test's folder.
# Tests of what only a DuckDB file has are marked `file_warehouse` and skipped here.
test-lake: install
	@scratch=$$(mktemp -d -t workshop-test-dagster-home.XXXXXX) && cp dagster.yaml $$scratch/ && \
	echo 'WORKSHOP_TEST_WAREHOUSE=lake pytest -q -n 3 --dist loadfile tests/integration -m "not bench"' && \
	WORKSHOP_TEST_WAREHOUSE=lake DAGSTER_HOME=$$scratch $(BIN)/python -m pytest -q -n 3 --dist loadfile \
	  --no-loadscope-reorder tests/integration -m "not bench"; \
	status=$$?; rm -rf $$scratch; exit $$status

# Cluster mode's tests (docs/operations.md, "A cluster"): Redis, Celery workers and `make
# cluster` itself started for real on 127.0.0.1 (Debian's redis-server and postgresql, which
# .ci/run installs). Apart from `make test`, whose six minutes they would outgrow.
test-cluster: install
	@scratch=$$(mktemp -d -t workshop-test-dagster-home.XXXXXX) && cp dagster.yaml $$scratch/ && \
	echo 'pytest -q -m cluster' && \
	DAGSTER_HOME=$$scratch $(BIN)/python -m pytest -q -m cluster; \
	status=$$?; rm -rf $$scratch; exit $$status

# Each benchmark script at a tiny size, ending with its result line (proves the scripts run;
# timings are never asserted). Apart from `make test`: they are not the three layers of tests,
# and they would take a sixth of its six minutes. CI runs both.
bench-check: install
	$(BIN)/python -m pytest -q -n 2 -m bench -rP

# Walk-forward replay of the offline loop on real history (../shared/data/market, 2018 on):
# figures per half and per source, baselines, leak audit; see docs/evaluation.md.
evaluate: install
	$(BIN)/python -m workshop_dagster.evaluation $(EVALUATE_ARGS)

# Two mind variants' walks side by side (run each first: make evaluate EVALUATE_ARGS="--variant
# NAME"): paired differences with intervals and a Diebold-Mariano test (evaluation/compare.py).
A ?= baseline
B ?= no_feedback
compare: install
	$(BIN)/python -m workshop_dagster.evaluation.compare $(A) $(B) $(COMPARE_ARGS)

# Recompute the sealed record from the warehouse and the published site; names the first cycle
# that differs (predictions/seals.py).
verify: install
	$(BIN)/python -m workshop_dagster.commands.verify $(VERIFY_ARGS)

# Cluster mode on this machine (docs/operations.md, "A cluster"): PostgreSQL and Redis on
# 127.0.0.1, two Celery workers and `dagster dev` against them, all in data/cluster/ (kept
# between starts); Ctrl-C stops it all. CLUSTER_ARGS="--workers 3 --port 3001".
cluster: install
	$(BIN)/python -m workshop_dagster.commands.cluster $(CLUSTER_ARGS)

# Copy a file warehouse (FILE, default the data folder's) into the empty DuckLake that WORKSHOP_DB
# and WORKSHOP_LAKE_DATA name, then verify it (docs/operations.md, "A shared warehouse").
copy-to-lake: install
	$(BIN)/python -m workshop_dagster.commands.copy_to_lake $(if $(FILE),--from $(FILE))

# Each benchmark prints its figures; the last line is `name: value unit (ratio vs baseline)`.
BENCHMARKS := load cycle backfill loop_backfill variant_backfill scoring claude_path pool_wait
# Each benchmark says which of how many it is and how long the last took (the loop backfill
# also draws the demo's progress bar on the terminal).
bench: install
	@n=$(words $(BENCHMARKS)); i=0; for b in $(BENCHMARKS); do i=$$((i+1)); \
	  echo "== $$b ($$i of $$n)"; start=$$(date +%s); \
	  $(BIN)/python benchmarks/$$b.py || exit 1; \
	  echo "   ($$b took $$(( $$(date +%s) - start )) s)"; done

lint: install
	$(BIN)/ruff check workshop_dagster tests benchmarks

format: install
	$(BIN)/ruff format workshop_dagster tests benchmarks
	$(BIN)/ruff check --fix workshop_dagster tests benchmarks

validate: install instance
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg check defs

ui: install instance
	$(BIN)/dagster instance concurrency set duckdb 1 >/dev/null
	$(BIN)/dagster instance concurrency set llm $${WORKSHOP_LLM_POOL_LIMIT:-2} >/dev/null
	$(BIN)/dg dev -w workspace.yaml -h $${WORKSHOP_UI_HOST:-127.0.0.1} -p $${WORKSHOP_UI_PORT:-3000}

clean:
	rm -rf data .dagster_home
