# Consistency Lab: `make run` to use it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
WEB_PORT ?= 8000
export PATH := $(abspath $(BIN)):$(PATH)
export DJANGO_SETTINGS_MODULE := config.settings

.PHONY: run dev test setup bench clean help
.DEFAULT_GOAL := help

help:
	@echo "make run    set everything up, then serve http://127.0.0.1:$(WEB_PORT) with a worker and Redis"
	@echo "             (HOST=0.0.0.0 make run serves the local network and prints its address and QR code)"
	@echo "make dev    the same with Django's autoreloading development server and DEBUG=1"
	@echo "make test   set everything up, then run the whole test suite"
	@echo "make bench  run the benchmarks and write docs/benchmarks.md"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=python3.x")'
	$(PYTHON) -m venv $(VENV)

# Reinstall only when requirements.txt changes.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

var:
	@mkdir -p var

# Generated once, readable only by its owner; settings.py reads it when SECRET_KEY is not set.
var/secret_key: | var
	@umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@.tmp && mv $@.tmp $@

# Hashing and compressing static files takes seconds: redo it only when they change.
STATIC_SOURCES := $(shell find static -type f 2>/dev/null)
var/staticfiles/staticfiles.json: $(STATIC_SOURCES) $(VENV)/.installed | var/secret_key
	$(BIN)/python manage.py collectstatic --noinput --clear -v0

setup: $(VENV)/.installed | var var/secret_key
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py load_lessons
	$(BIN)/python manage.py load_interview_scripts

run: setup var/staticfiles/staticfiles.json
	@$(BIN)/python scripts/serve.py

dev: setup
	@$(BIN)/python scripts/serve.py --dev

# Tests never run in DEBUG and need a secret of the right shape; this one is for tests only.
test: export SECRET_KEY := test-only-secret-key-not-for-any-deployment-0123456789
test: export DEBUG := 0
test: export ALLOWED_HOSTS := 127.0.0.1,localhost,testserver
# Its own queue and key prefix, so a run can share a Redis without touching anyone's data.
TEST_ID := test-$(shell date +%s%N)
test: export CELERY_QUEUE := consistency-lab-$(TEST_ID)
test: export REDIS_KEY_PREFIX := clab-$(TEST_ID):
# Two cores, and many tests wait on a browser, a worker or a server: twice as many processes as cores
# (3 gave 465 s of pytest on a quiet machine, 4 gave 450 s).
# Each process gets its next test as it finishes one (not a quarter of the suite at the start), long ones first
# (tests/conftest.py), so that no process is left running a long test alone at the end.
TEST_PROCESSES ?= 4
test: setup var/staticfiles/staticfiles.json
	@bash scripts/ensure_chromium.sh
	$(BIN)/python scripts/with_redis.py -- $(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist load --maxschedchunk 1 $(PYTEST_ARGS)

bench: export SECRET_KEY := bench-only-secret-key-not-for-any-deployment-0123456789
bench: setup var/staticfiles/staticfiles.json
	$(BIN)/python scripts/with_redis.py -- $(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) var
