# Parley: every target sets up its own virtual environment first (.venv, from pyproject.toml).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint fmt bench clean

# Claim extraction and the views' fold compiled with mypyc for the current sources (monitor/native.py): a no-op when
# built already; without a C compiler or mypyc, or when mypyc fails, they stay pure Python.
setup: $(STAMP)
	-@$(BIN)/python -m monitor.native build

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

demo: setup
	$(BIN)/parley demo --until-done

lint: setup
	$(BIN)/ruff check store monitor alerts tests bench
	$(BIN)/ruff format --check store monitor alerts tests bench
	$(BIN)/mypy store monitor alerts bench

fmt: setup
	$(BIN)/ruff format store monitor alerts tests bench
	$(BIN)/ruff check --fix store monitor alerts tests bench

test: lint
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
