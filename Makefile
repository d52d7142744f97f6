# Thin wrappers around the README's commands: a .venv in the repo, the project installed with its test extra.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test calibrate parameter-sets venv clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/hydro run runs/baseline.toml --out out/baseline
	$(BIN)/hydro report out/baseline

test: $(STAMP)
	$(BIN)/python -m pytest -q

calibrate: $(STAMP)
	$(BIN)/python -m hydro.calibration basins/amu_darya

parameter-sets: $(STAMP)
	$(BIN)/hydro calibrate runs/hindcast.toml --install --out out/calibrate

clean:
	rm -rf out .pytest_cache
