# Thin wrappers around the README's commands: a .venv in the repo, the project installed with its test extra.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test calibrate parameter-sets venv docs clean

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

# the documentation site into site/: numbers and charts generated from the model, then a strict mkdocs build
docs: $(STAMP)
	$(BIN)/python -c "import mkdocs, material, mkdocstrings_handlers.python" 2>/dev/null || $(BIN)/python -m pip install --quiet -e ".[docs]"
	$(BIN)/python docs/generate.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf out .pytest_cache
