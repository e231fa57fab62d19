# The README's commands. Each one builds .venv from nothing when it is missing or stale.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# runtime dependencies only (make run); with the test and bench extras and the example
# model package (make test and the benchmarks)
RUNTIME := $(VENV)/.installed-runtime
STAMP   := $(VENV)/.installed

.PHONY: test bench-smoke bench-regress bench-kernel bench-model bench-intervals bench-grid bench-pipeline bench-scale bench-workers bench-measures run clean

$(RUNTIME): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	# compile the numba kernels' cache (~10 s, once): a tiny run of the baseline study
	$(BIN)/reesens run studies/baseline.toml --n 64 --quiet --overwrite \
		--out $(VENV)/jit-warmup.zarr >/dev/null
	rm -rf $(VENV)/jit-warmup.zarr
	touch $(RUNTIME)

$(STAMP): $(RUNTIME) tests/example_model/pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test,bench]" -e tests/example_model
	# Chromium (Debian's) for the test that opens a report's index.html headless; where
	# apt-get cannot run, that one test is skipped
	command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& { DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
		|| { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q chromium >/dev/null; }; }; } \
		|| echo "chromium not installed: the report page's browser test will be skipped"
	# SLURM and munge (Debian's) for the tests that run a one-node SLURM cluster; where
	# apt-get cannot run, those tests are skipped
	command -v slurmctld >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& { DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null \
		|| { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q slurm-wlm munge >/dev/null; }; }; } \
		|| echo "SLURM not installed: the SLURM cluster tests will be skipped"
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

# One pass over every asv benchmark, no timing kept: the CI smoke check.
bench-smoke: $(STAMP)
	$(BIN)/asv machine --yes >/dev/null
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/asv run --quick --dry-run -E existing --show-stderr

# The kernel, pipeline, grid and start-up asv suites at BASE (default the previous commit)
# and at HEAD in one sitting; fails where a benchmark got more than 1.5x slower.
BASE ?= HEAD~1
bench-regress: $(STAMP)
	$(BIN)/python benchmarks/regress.py --base $(BASE)

# Numba kernel vs plain numpy vs the memory-copy bound, in one run.
bench-kernel: $(STAMP)
	$(BIN)/python benchmarks/compare_kernel.py

# The whole run (Sobol' only, second order, N = 2^22) against the model alone, one run.
bench-model: $(STAMP)
	$(BIN)/python benchmarks/compare_model.py $(N)

# Coverage and width of each interval kind on 200 scrambled designs (Ishigami, G-function).
bench-intervals: $(STAMP)
	$(BIN)/python benchmarks/compare_intervals.py $(N)

# The baseline grid (40^6 cells; `N=...` values per axis) swept and reported, against a
# plain numba loop over its cells, in one run.
bench-grid: $(STAMP)
	$(BIN)/python benchmarks/compare_grid.py $(N)

# The baseline study end to end: results/baseline.zarr, the ranking table, and its
# figures and summary in results/baseline-report/, timed.
run: $(RUNTIME)
	@start=$$(date +%s%N); \
	$(BIN)/reesens run studies/baseline.toml --report && \
	echo "make run: baseline run and report in $$(( ($$(date +%s%N) - start) / 1000000 )) ms"

# The pipeline against plain SALib (sample -> numpy -> analyze), N = 2^12 .. 2^16.
bench-pipeline: $(STAMP)
	$(BIN)/python benchmarks/compare_pipeline.py

# Streaming reesens vs OpenTURNS (N = 2^20) and plain SALib (N = 2^16), second order.
bench-scale: $(STAMP)
	$(BIN)/python benchmarks/compare_scale.py

# 1 against 2 worker threads on the same study, alternating in one process (N = 2^20).
bench-workers: $(STAMP)
	$(BIN)/python benchmarks/compare_workers.py $(N)

# What PAWN, delta and the given-data S1 add to a baseline run (N = 2^20), and their cost
# beside SALib's pawn and delta on the same rows, in one run.
bench-measures: $(STAMP)
	$(BIN)/python benchmarks/compare_measures.py $(N)

clean:
	rm -rf $(VENV) .asv .pytest_cache .hypothesis
