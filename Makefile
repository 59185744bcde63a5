# modot_ros developer commands. Each target sets up what it needs first (scripts/setup.sh is a
# quick no-op once the venv is current).
PY := .venv/bin/python
LOOPBACK := scripts/in_loopback.sh
DEMO_OUT ?= build/demo
PYTEST_ARGS ?=

.PHONY: setup test demo bench clean

setup:
	@bash scripts/setup.sh

test: setup
	@$(LOOPBACK) $(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) tests

demo: setup
	@$(LOOPBACK) $(PY) -m scripts.demo --output $(DEMO_OUT)

bench: setup
	@$(LOOPBACK) $(PY) -m benchmarks --json build/bench.json

clean:
	rm -rf build .venv
