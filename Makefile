# Everything runs inside .venv, created from this repo's own files.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test fuzz lint corpus bench docs clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; set PYTHON=python3.11"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/gradcli grad "x**2+2*x-1" --at x=2
	$(BIN)/gradcli grad "sum(x*x + 2*z)" --at "x=[[3,3,3],[3,3,3]]" --at z=5
	@echo "For students who never open a terminal: $(BIN)/gradcli serve, then open the address it prints (docs/serve.md)."

test: $(STAMP)
	$(BIN)/python -m pytest

# Property tests with fresh random examples, GRADCLI_FUZZ times as many as CI's fixed set.
fuzz: $(STAMP)
	GRADCLI_FUZZ=$${GRADCLI_FUZZ:-20} HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q $$(grep -l "@given" tests/test_*.py)

lint: $(STAMP)
	$(BIN)/ruff check gradcli tests bench
	$(BIN)/ruff format --check gradcli tests bench
	$(BIN)/lint-imports --no-cache

# Replays every CLI call recorded in tests/snapshots/cli_corpus.jsonl and names each one whose output changed.
corpus: $(STAMP)
	$(BIN)/python -m tests.corpus

bench: $(STAMP)
	$(BIN)/python bench/bench.py
	$(BIN)/python bench/serve_soak.py

# docs/frameworks.md: each framework's gradient at the kinks, measured by gradcli (a test fails when stale).
# docs/cli.md is generated from the Typer app, and the README's console examples are rerun (gradcli/examples.py);
# rerun after adding a command or an option or changing an output.
# docs/tour.ipynb is run again so that the outputs it shows on GitHub are today's.
docs: $(STAMP)
	$(BIN)/python -m gradcli.devtools.reference docs/cli.md
	$(BIN)/python -m gradcli.devtools.examples README.md docs/guide.md docs/kinks.md docs/tape.md
	$(BIN)/python -c "import nbformat, nbclient; nb = nbformat.read('docs/tour.ipynb', 4); \
		nbclient.NotebookClient(nb, timeout=300, record_timing=False).execute(); nbformat.write(nb, 'docs/tour.ipynb')"
	$(BIN)/python -m gradcli.devtools.frameworks_doc docs/frameworks.md

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
