# Every target bootstraps .venv on a fresh machine. torch is pinned through constraints.txt, so pip takes
# the CPU build and never a CUDA one.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.bootstrapped
PIP    := $(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: install test test-fast lint typecheck demo profiles results results-fast clean clients mutation

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) "setuptools>=68" wheel
	$(PIP) torch==2.13.0
	$(PIP) -e '.[dev]' --config-settings editable_mode=strict
	touch $(STAMP)

# editable_mode=strict links the modules that exist at install time: re-link so new modules are seen.
install: $(STAMP)
	$(PIP) --no-deps --no-build-isolation -e . --config-settings editable_mode=strict

# Third-party RL clients (tests/clients/), each in its own venv .venv-<client>: they pin other versions than
# .venv (ray[rllib] an older Gymnasium, tianshou an older pandas). torch comes first, through constraints.txt
# (the CPU build); requirements-<client>.txt holds the versions these tests were run with.
CLIENTS := torchrl rllib tianshou
CLIENT_PIP = .venv-$*/bin/pip install --quiet --disable-pip-version-check -c constraints.txt

.venv-%/.bootstrapped: tests/clients/requirements-%.txt pyproject.toml constraints.txt
	$(PYTHON) -m venv .venv-$*
	$(CLIENT_PIP) "setuptools>=68" wheel
	$(CLIENT_PIP) torch==2.13.0
	$(CLIENT_PIP) -e . --config-settings editable_mode=strict -r tests/clients/requirements-$*.txt
	touch $@

# Every venv (.venv too) imports splitgym from the one link tree build/__editable__.*: one re-link (new
# modules) serves them all. Run it serially (make -j, or a second install at the same time, races on that
# tree). The RLlib helper's tests in tests/core run here against real Ray too.
clients: $(foreach c,$(CLIENTS),.venv-$(c)/.bootstrapped)
	.venv-torchrl/bin/pip install --quiet --disable-pip-version-check -c constraints.txt --no-deps \
		--no-build-isolation -e . --config-settings editable_mode=strict
	.venv-torchrl/bin/pytest -q tests/clients/test_torchrl.py
	.venv-rllib/bin/pytest -q tests/clients/test_rllib_ppo.py tests/clients/test_rllib_multiagent.py tests/core/test_rllib.py
	.venv-tianshou/bin/pytest -q tests/clients/test_tianshou.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy runs from outside the checkout so that it checks the installed package, as users import it.
typecheck: install
	cd $(VENV) && bin/mypy --config-file ../pyproject.toml -p splitgym

# Two workers (the machine's 2 cores): the whole suite, slow tests included; then the RL clients' tests in
# their own venvs (`clients`: TorchRL, RLlib, Tianshou; ~7 min the first time, ~1.5 min after).
test: lint typecheck
	$(BIN)/pytest -q -n 2 --durations=15
	$(MAKE) clients

test-fast: install
	$(BIN)/pytest -q -m "not slow"

# Mutation testing of the environment core and the surrogates with mutmut (not in CI: over an hour on 2 cores
# for the default sample of 800 mutants, 659 of them in 65 min; MUTATION_SAMPLE=all for every one). The report goes to
# benchmarks/results/mutation/. An interrupted run resumes (mutmut keeps its verdicts in build/mutation).
mutation: install
	$(PIP) mutmut==3.8.1
	tests/mutation/run.sh

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

# Regenerate the committed results in benchmarks/results/ (commands write there only when told to with --out;
# every default output goes to the current directory). results-fast: the minutes-long ones; results: all
# (hours on 2 cores: the benchmark suites train thousands of agents).
RESULTS := benchmarks/results
results-fast: install
	$(BIN)/splitgym benchmark perf --out $(RESULTS)/perf
	$(BIN)/splitgym profile calibration --out $(RESULTS)/calibration --summary
	$(BIN)/splitgym benchmark run quick --out benchmark-results --report
	for n in reference_erasure reference_fading reference_fading_noeq reference_bitflip_fp16 \
		reference_bitflip_int8; do $(BIN)/splitgym profile plot accuracy/$$n --out $(RESULTS)/accuracy/$$n.png; done

results: results-fast
	$(BIN)/splitgym compress apply --method magnitude --tokens 8192 --calib-tokens 2048 --out $(RESULTS)/compression
	$(BIN)/splitgym compress apply --method wanda --tokens 8192 --calib-tokens 2048 --out $(RESULTS)/compression/wanda
	$(BIN)/splitgym compress apply --method magnitude --budgets 0:4 0:3 --tokens 8192 \
		--out $(RESULTS)/compression/bits_only
	$(BIN)/splitgym compress vote-channel --tokens 8192 --out $(RESULTS)/compression
	$(BIN)/splitgym benchmark run compressed --out benchmark-results --report
	$(BIN)/splitgym benchmark run paper --out benchmark-results --report
	$(BIN)/splitgym benchmark paper-report --suite-out benchmark-results/paper --out $(RESULTS)/paper
	$(BIN)/splitgym benchmark run model_based --out benchmark-results --report
	$(BIN)/splitgym benchmark run sequential --out benchmark-results --report
	$(BIN)/splitgym benchmark run sequential_ablation --out benchmark-results --report
	$(BIN)/splitgym benchmark episode --env splitgym/FadingSplit-Vehicular-v1 --policy planning --seed 0 \
		--out $(RESULTS)/sequential/episode
	$(BIN)/splitgym benchmark budget-sweep --real live:reference:erasure --budgets 5 10 20 30 40 --seeds 0 1 2 \
		--episodes 30 --ppo-steps 50 100 200 500 1000 --out $(RESULTS)/model_based --name budget_sweep_live

clean:
	rm -rf $(VENV) build *.egg-info
