# Two commands for a fresh machine: `make run` (simulated Core campaign) and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Debian packages: pcscd + vpcd give the virtual RFID reader, libpcsclite-dev builds pyscard,
# chromium renders the HTML report in its test and prints report.pdf; poppler-utils (pdftotext,
# pdfinfo) reads the PDF back in its test; postgresql is the shared history index's server (its
# test starts a private one); nftables (nft-drop network cut) and iproute2 (the
# network-namespace test of it) cut the station's link like a pulled cable.
DEB_PACKAGES := pcscd vsmartcard-vpcd libpcsclite-dev chromium poppler-utils postgresql \
	nftables iproute2

.PHONY: setup system-packages run test lint bench bench-campaign clean
# `make bench` times a two-case campaign; `make bench-campaign` times the whole core plan.
BENCH_CAMPAIGN_ARGS ?= --quick

setup: system-packages $(STAMP)

system-packages:
	@./scripts/system-packages.sh $(DEB_PACKAGES)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

run: setup
	$(VENV)/bin/bench run --plan core --rig rigs/sim.toml

# Most of the suite waits on simulated stations, so two workers halve its wall time; a module
# stays on one worker (its fixtures start once). TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= auto
test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: setup
	$(PY) -m ruff check .

bench: setup
	@rc=0; for b in benchmarks/bench_*.py; do echo "## $$b"; \
	  if [ "$$b" = benchmarks/bench_campaign.py ]; then $(PY) $$b $(BENCH_CAMPAIGN_ARGS) || rc=1; \
	  else $(PY) $$b || rc=1; fi; done; exit $$rc

bench-campaign: setup
	$(PY) benchmarks/bench_campaign.py

clean:
	rm -rf $(VENV) runs .pytest_cache
