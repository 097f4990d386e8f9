# Two entry points for a fresh machine: `make render` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STACKS := dev staging production
OUT ?= rendered

.PHONY: render test lint venv tools clean bench profile fuzz golden

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/.installed

## Render every stack's manifests offline into $(OUT)/<stack>/.
render: venv
	@for stack in $(STACKS); do $(BIN)/prodstack render $$stack --out $(OUT) || exit $$?; done

## Re-render the golden files: tests/golden/<stack>/ and docs/runbooks/ (review and commit the diff).
golden: venv
	$(BIN)/python -m tests.support.golden

## Install the real tools the tests drive, then run lint, types and the whole test suite.
test: venv tools lint
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

tools:
	@bash scripts/install-tools.sh

## Benchmarks against the raw-SDK floor (docs/performance.md); BENCH_ARGS=--quick for a smoke run.
bench: venv
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

$(BIN)/.bench-installed: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

## Where a platform run's time goes, sampled with py-spy (PROFILE_ARGS="--n 200 --floor").
profile: $(BIN)/.bench-installed
	$(BIN)/python -m benchmarks.profile $(PROFILE_ARGS)

## A large seeded run of the input fuzzer (tests/fuzz.py); FUZZ_ARGS="--cases 1200 --seed 15".
fuzz: venv
	$(BIN)/python -m tests.fuzz $(FUZZ_ARGS)

lint: venv
	$(BIN)/ruff check prodstack tests stacks benchmarks
	$(BIN)/ruff format --check prodstack tests stacks benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(OUT) .tools
