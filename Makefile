# Every target bootstraps .venv on a fresh machine. torch is pinned through constraints.txt, so pip takes
# the CPU build and never a CUDA one.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.bootstrapped
PIP    := $(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: install test test-fast lint typecheck demo profiles clean

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

# Regenerate the shipped profiles (needs a quiet machine: about 1.5 h on 2 cores). The commands that made
# the committed files.
DATA := profiles/data
CATALOGUE := gpt2 gpt2-medium gpt2-large gpt2-xl qwen2-0.5b qwen2-1.5b tinyllama-1.1b phi-2 llama2-7b \
	mistral-7b llama3-8b llama2-13b reference
profiles: install
	$(BIN)/splitgym profile train-reference --out $(DATA)/reference --progress
	for m in $(CATALOGUE); do $(BIN)/splitgym profile timings --model $$m --threads 2 --out $(DATA)/timing \
		--repeats 5 --warmup 2 || exit 1; done
	$(BIN)/splitgym profile scale $(DATA)/timing/*.csv --device all --out $(DATA)/timing/scaled
	$(BIN)/splitgym profile accuracy --operator erasure --name reference_erasure --out $(DATA)/accuracy
	$(BIN)/splitgym profile accuracy --operator fading --param m:1 equalize:true --name reference_fading \
		--out $(DATA)/accuracy
	$(BIN)/splitgym profile accuracy --operator fading --param m:1 equalize:false \
		--name reference_fading_noeq --out $(DATA)/accuracy
	$(BIN)/splitgym profile accuracy --operator bitflip --param dtype:fp16 --levels 0 2 4 6 8 10 12 14 16 \
		--name reference_bitflip_fp16 --out $(DATA)/accuracy
	$(BIN)/splitgym profile accuracy --operator bitflip --param dtype:int8 --levels 0 2 4 6 8 10 12 14 16 \
		--name reference_bitflip_int8 --out $(DATA)/accuracy

clean:
	rm -rf $(VENV) build *.egg-info
