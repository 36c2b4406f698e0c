# Every target bootstraps .venv on a fresh machine. torch is pinned through constraints.txt, so pip takes
# the CPU build and never a CUDA one.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.bootstrapped
PIP    := $(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: install test test-fast lint typecheck demo clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) "setuptools>=68" wheel
	$(PIP) torch==2.13.0
	$(PIP) -e '.[dev]' --config-settings editable_mode=strict
	touch $(STAMP)

# editable_mode=strict links the modules that exist at install time: re-link so new modules are seen.
install: $(STAMP)
	$(PIP) --no-deps --no-build-isolation -e . --config-settings editable_mode=strict

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy runs from outside the checkout so that it checks the installed package, as users import it.
typecheck: install
	cd $(VENV) && bin/mypy --config-file ../pyproject.toml -p splitgym

test: lint typecheck
	$(BIN)/pytest -q

test-fast: install
	$(BIN)/pytest -q -m "not slow"

demo: install
	$(BIN)/splitgym demo

clean:
	rm -rf $(VENV) build *.egg-info
