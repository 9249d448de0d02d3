# Lapor Call Center: the two commands are `make run` and `make test`.
# Both do all set-up first: Debian packages (as root), the virtualenv, the Asterisk rootfs
# (cached outside the repo) and the prompts (cached by text hash).

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# mmdebstrap builds the Asterisk rootfs; sox and espeak-ng make the prompts; SIPp drives
# load tests; the keyring verifies the Debian sid packages; postgresql runs the tests'
# throwaway cluster in var/pg (sandbox/postgres.py), and make run's with DB=postgres.
# prometheus is there for its promtool: the tests check and unit-test the alert rules.
APT_PACKAGES := mmdebstrap debian-archive-keyring espeak-ng sox sip-tester poppler-utils chromium \
	postgresql prometheus
# Packages wanted for a tool only, whose daemon must neither run nor start at boot
# (Prometheus's server would take port 9090): when make installs them, it does so without
# their recommends (the node exporter), under a policy-rc.d that refuses every start when
# the machine has none, and then disables their service. One installed before is left as
# it is.
APT_TOOL_ONLY := prometheus
# make run's database: sqlite (var/lapor.db) or postgres (database lapor in var/pg).
DB ?= sqlite

.PHONY: run test lint bench clean reset setup apt-packages venv

run: setup
	LAPOR_DEV_DB=$(DB) $(BIN)/python -m sandbox.devrun

test: setup lint
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: setup
	$(BIN)/python -m bench.fastagi_throughput
	$(BIN)/python -m bench.ingest --calls 3000
	$(BIN)/python -m bench.stats --calls 1000000
	$(BIN)/python -m bench.console --calls 200 --consoles 200
	$(BIN)/python -m bench.console_push --clients 200 --pushes 100
	$(BIN)/python -m bench.recorded_calls --calls 20 --seconds 30
	$(BIN)/python -m bench.virtual_hold --callbacks 100

setup: apt-packages venv

# Installs only what is missing, so a second run costs a few dpkg look-ups. A package that
# was removed but not purged still answers `dpkg -s`, so the check reads its status.
apt-packages:
	@missing=""; \
	for pkg in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q 'install ok installed' \
	    || missing="$$missing $$pkg"; \
	done; \
	$(PYTHON) -c 'import ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "Missing Debian packages:$$missing. Run: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	  echo "Installing Debian packages:$$missing"; \
	  tools=""; others=""; \
	  for pkg in $$missing; do \
	    case " $(APT_TOOL_ONLY) " in *" $$pkg "*) tools="$$tools $$pkg";; *) others="$$others $$pkg";; esac; \
	  done; \
	  apt-get update -qq || exit 1; \
	  if [ -n "$$others" ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$others || exit 1; \
	  fi; \
	  if [ -n "$$tools" ]; then \
	    policy=/usr/sbin/policy-rc.d; own_policy=""; \
	    if [ ! -e $$policy ]; then \
	      printf '#!/bin/sh\nexit 101\n' >$$policy && chmod 0755 $$policy && own_policy=1; \
	    fi; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$tools; \
	    status=$$?; \
	    [ -z "$$own_policy" ] || rm -f $$policy; \
	    [ $$status = 0 ] || exit $$status; \
	    for pkg in $$tools; do \
	      if [ -d /run/systemd/system ]; then \
	        systemctl disable --now --quiet $$pkg.service || exit 1; \
	      else \
	        deb-systemd-helper disable $$pkg.service >/dev/null 2>&1 || true; \
	        if [ -x /etc/init.d/$$pkg ]; then \
	          update-rc.d $$pkg disable >/dev/null 2>&1; /etc/init.d/$$pkg stop >/dev/null 2>&1 || true; \
	        fi; \
	      fi; \
	    done; \
	  fi; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python >= 3.11 is required (found $$($(PYTHON) --version))" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dev]'
	touch $@

# A clean start for `make run`: its database, recordings, IVR spool and collector buffer
# in var/ go (make run itself never deletes them).
reset: venv
	$(BIN)/python -m sandbox.cli reset

clean:
	-[ -x $(BIN)/python ] && $(BIN)/python -m sandbox.cli down
	-[ -x $(BIN)/python ] && $(BIN)/python -m sandbox.postgres stop --force
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
