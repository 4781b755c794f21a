# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

export OMP_THREAD_LIMIT ?= 1

.PHONY: run test install system-deps tools lint check-ops fuzz faults bench-serve bench-ocr bench-swap bench-cold-start lambda-size clean docs docs-config docs-diagram

run: install
	$(VENV)/bin/mlops serve

test: install
	$(PY) -m pytest

install: system-deps tools $(STAMP)

# Azurite, the Azure Blob emulator of the Azure tests, from npm into the repo's .tools.
AZURITE_VERSION := 3.35.0
AZURITE := .tools/node_modules/.bin/azurite-blob
tools: $(AZURITE)

$(AZURITE):
	npm install --prefix .tools --no-audit --no-fund --silent azurite@$(AZURITE_VERSION)
	@touch $@

system-deps:
	@scripts/install-system-deps.sh

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,rapidocr,aws,azure,gcp,infra,docs]'
	@rm -f $(VENV)/.installed-*
	@touch $@

lint: install
	$(VENV)/bin/ruff check app functions infra tests bench ops
	$(VENV)/bin/ruff format --check app functions infra tests bench ops
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir build/site

# The documentation site (MkDocs, Material theme, offline) into build/site.
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir build/site

# docs/configuration.md, generated from app.settings.Settings and Pulumi.yaml.
docs-config: install
	$(PY) scripts/gen_config_docs.py

# docs/diagrams/*.svg from their Graphviz sources (needs `dot`: apt-get install graphviz).
docs-diagram:
	$(PYTHON) scripts/render_diagram.py

check-ops: install
	@scripts/install-promtool.sh
	$(PY) ops/check.py

# A long schemathesis run (random seed): FUZZ_EXAMPLES generated requests per operation and
# caller (admin, user, other), against a real model; it prints the cases per caller.
FUZZ_EXAMPLES ?= 150
fuzz: install
	MLOPS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) MLOPS_FUZZ_RANDOM=1 $(PY) -m pytest tests/fuzz -q

# The fault suite with longer outages and every kill point three times (make test runs it
# once, fast); prints the table of faults and outcomes. Mounts a small tmpfs: run as root.
faults: install
	MLOPS_FAULTS_LONG=1 $(PY) -m pytest tests/faults -q

bench-serve: install
	$(PY) bench/serve.py

bench-ocr: install
	$(PY) bench/ocr.py

bench-swap: install
	$(PY) bench/swap.py

clean:
	rm -rf $(VENV) .mlops .pytest_cache build .tools

bench-cold-start: install
	$(PY) bench/cold_start.py

# P5: unzipped size of the API Lambda's dependency closure (needs PyPI), goal 200 MB.
lambda-size: install
	PY=$(PY) scripts/lambda-closure.sh
