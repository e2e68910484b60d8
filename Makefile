# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

.PHONY: run test lint format install install-dev migrate demo serve ci clean

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

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Stamp files: reinstall only when a requirements file changes.
.make-install: $(PY) requirements.txt
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

.make-install-dev: .make-install requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: .make-install
install-dev: .make-install-dev

# A developer's .env: DEBUG on and a random SECRET_KEY kept across restarts.
.env:
	@printf 'DEBUG=1\nSECRET_KEY=%s\n' "$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" > .env
	@echo "Wrote .env (DEBUG=1 and a random SECRET_KEY); see .env.example for the rest."

migrate: install
	$(PY) manage.py migrate --noinput

demo: install
	$(PY) manage.py seed_demo

serve: install
	$(PY) manage.py runserver 127.0.0.1:8000

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) .make-install .make-install-dev .pytest_cache .ruff_cache
