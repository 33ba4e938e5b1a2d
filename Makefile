# Developer entry points. Needs only Python 3.11 and make:
#   make run    set up (venv, deps, migrations, demo data, admin/admin) and start the dev server
#   make test   set up, then lint, check the import layers, check for missing migrations and run the test suite
# Variables: PYTHON (interpreter that creates the venv), PORT (dev server port),
# PYTEST_ARGS (extra pytest arguments, e.g. make test PYTEST_ARGS="-k ledger -x").
#   make bench  the benchmark on PostgreSQL (bench/README.md); ARGS=--quick for a ~2-minute run

PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
PYTEST_ARGS ?=
ARGS ?=

BIN := $(VENV)/bin
PY := $(BIN)/python
# Touched after a successful install; rebuilt whenever a requirements file changes.
STAMP := $(VENV)/.installed

ADMIN_USER := admin
ADMIN_PASSWORD := admin
# Creates the superuser, or resets an existing one, so `make run` can be repeated.
define ENSURE_SUPERUSER
from django.contrib.auth import get_user_model
User = get_user_model()
user, _ = User.objects.get_or_create(**{User.USERNAME_FIELD: "$(ADMIN_USER)"})
user.is_active = user.is_staff = user.is_superuser = True
user.set_password("$(ADMIN_PASSWORD)")
user.save()
endef
export ENSURE_SUPERUSER

.DEFAULT_GOAL := help
.PHONY: help install run migrate superuser test lint fmt clean fuzz bench

help:
	@echo "make run     set up and start the dev server on http://127.0.0.1:$(PORT)/ (admin/admin)"
	@echo "make test    set up, ruff check, lint-imports, makemigrations --check, schema --validate, pytest \$$PYTEST_ARGS"
	@echo "make lint    ruff check ."
	@echo "make fuzz    long schemathesis run with the stateful phase (needs PostgreSQL; not in CI)"
	@echo "make fmt     ruff check --fix . and ruff format ."
	@echo "make clean   remove caches (not the venv or the database)"
	@echo "make bench   benchmark on PostgreSQL with pgbench and wrk (ARGS=--quick: ~2 minutes); see bench/README.md"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $@

install: $(STAMP)

# The dev server runs with DEBUG on; everything in this recipe sees it.
run migrate superuser: export DJANGO_DEBUG = 1

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput

superuser: migrate
	$(PY) manage.py shell --verbosity 0 --command "$$ENSURE_SUPERUSER"

run: migrate superuser
	$(PY) manage.py seed_demo --if-empty
	@# The worker starts first: the demo sales' customer e-mails it prints (console backend) come before the banner.
	@$(PY) manage.py db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	sleep 3; \
	echo ""; \
	echo "  Admin:     http://127.0.0.1:$(PORT)/admin/   (user $(ADMIN_USER), password $(ADMIN_PASSWORD))"; \
	echo "  API:       http://127.0.0.1:$(PORT)/api/v1/"; \
	echo "  API docs:  http://127.0.0.1:$(PORT)/api/docs/"; \
	echo "  Events:    http://127.0.0.1:$(PORT)/api/v1/events/   Health: /healthz  /readyz  /metrics"; \
	echo "  Worker:    one manage.py db_worker (webhooks, e-mails) runs beside the server and stops with it"; \
	echo ""; \
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

# Slow (minutes): many cases per operation plus stateful call chains; ST_MAX_EXAMPLES, ST_SEED.
fuzz: $(STAMP)
	scripts/fuzz.sh

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Needs a local PostgreSQL (scripts/ensure_postgres.sh), pgbench and wrk (installed if missing).
bench: $(STAMP)
	$(PY) bench/run.py $(ARGS)

clean:
	rm -rf .pytest_cache .ruff_cache .hypothesis .import_linter_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
