# modot_ros developer commands. Each target sets up what it needs first (scripts/setup.sh is a
# quick no-op once the venv is current).
PY := .venv/bin/python
LOOPBACK := scripts/in_loopback.sh
DEMO_OUT ?= build/demo
PYTEST_ARGS ?=

.PHONY: setup test soak demo bench clean

setup:
	@bash scripts/setup.sh

test: setup
	@$(LOOPBACK) $(PY) -m pytest -q -p no:cacheprovider -m "not soak" $(PYTEST_ARGS) tests

# 10,000 frames at 30 Hz into the real node (about 6 min); SOAK_FRAMES=600 SOAK_WINDOW=100 for a short one
SOAK_FRAMES ?= 10000
SOAK_WINDOW ?= 1000
soak: setup
	@MODOT_SOAK_FRAMES=$(SOAK_FRAMES) MODOT_SOAK_WINDOW=$(SOAK_WINDOW) \
		$(LOOPBACK) $(PY) -m pytest -q -p no:cacheprovider -m soak tests/test_node_soak.py

demo: setup
	@$(LOOPBACK) $(PY) -m scripts.demo --output $(DEMO_OUT)

bench: setup
	@$(LOOPBACK) $(PY) -m benchmarks --json build/bench.json

clean:
	rm -rf build .venv
