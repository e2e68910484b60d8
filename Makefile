# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# Where `make run` / `make serve` listen: `make run PORT=8001`, `make serve HOST=0.0.0.0`.
HOST ?= 127.0.0.1
PORT ?= 8000
# SITE_URL (the address links in emails point at, and the Site's name on the first
# migrate) follows HOST and PORT, unless it is set: in the environment, on the command line
# (`make run SITE_URL=https://demo.example.org`) or in .env. Evaluated when used, so a
# .env written by this very run counts.
SITE_URL_ENV = $(if $(SITE_URL)$(shell grep -qsE '^[[:space:]]*(export[[:space:]]+)?SITE_URL=' .env && echo set),,SITE_URL=http://$(HOST):$(PORT))

.PHONY: run test lint format install install-dev lock migrate demo serve ci clean

run: install .env migrate demo serve

test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The venv's pip comes from the lock like everything else (requirements.in pins it).
$(PY):
	$(PYTHON) -m venv $(VENV)

# requirements.txt and requirements-dev.txt are locks: every package, transitive ones
# included, pinned with the hashes of its files; pip refuses anything else.
# Stamp files: reinstall only when a lock changes.
.make-install: $(PY) requirements.txt
	$(PY) -m pip install --quiet --require-hashes -r requirements.txt
	touch $@

.make-install-dev: .make-install requirements-dev.txt
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.txt
	touch $@

install: .make-install
install-dev: .make-install-dev

# Rewrite the locks from requirements.in and requirements-dev.in. Versions already locked
# stay; `make lock UPGRADE=urllib3` moves one package to its newest allowed release
# (UPGRADE="urllib3 idna" for several). Compiled against PyPI alone: LOCK_ENV hides pip's
# config files and index variables, so no local mirror or find-links adds its files' hashes
# (pip-compile does not honour pip's --isolated). The tools live in their own venv.
LOCK_VENV := .venv-lock
LOCK_ENV ?= env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_NO_INDEX \
	-u PIP_CONSTRAINT PIP_CONFIG_FILE=/dev/null
PIP_COMPILE := $(LOCK_ENV) CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile \
	--quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	--no-emit-find-links $(foreach p,$(UPGRADE),--upgrade-package $(p))

$(LOCK_VENV)/bin/pip-compile:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --isolated --quiet pip==26.3 pip-tools==7.6.2

lock: $(LOCK_VENV)/bin/pip-compile
	$(PIP_COMPILE) --output-file requirements.txt requirements.in
	$(PIP_COMPILE) --output-file requirements-dev.txt requirements-dev.in

# A developer's .env: DEBUG on and a random SECRET_KEY kept across restarts.
.env:
	@printf 'DEBUG=1\nSECRET_KEY=%s\n' "$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" > .env
	@echo "Wrote .env (DEBUG=1 and a random SECRET_KEY); see .env.example for the rest."

migrate: install
	$(SITE_URL_ENV) $(PY) manage.py migrate --noinput

demo: install
	$(SITE_URL_ENV) $(PY) manage.py seed_demo

serve: install
	$(SITE_URL_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) $(LOCK_VENV) .make-install .make-install-dev .pytest_cache .ruff_cache
