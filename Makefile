# Consistency Lab: `make run` to use it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
WEB_PORT ?= 8000
export PATH := $(abspath $(BIN)):$(PATH)
export DJANGO_SETTINGS_MODULE := config.settings

.PHONY: run test setup bench clean help
.DEFAULT_GOAL := help

help:
	@echo "make run    set everything up, then serve http://127.0.0.1:$(WEB_PORT) with a worker and Redis"
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

setup: $(VENV)/.installed | var
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py load_lessons
	$(BIN)/python manage.py load_interview_scripts

run: export DEBUG := $(or $(DEBUG),1)
run: export WEB_PORT := $(WEB_PORT)
run: setup
	@echo "Consistency Lab: http://127.0.0.1:$(WEB_PORT)  (Ctrl-C stops the web server, the worker and the private Redis)"
	$(BIN)/python scripts/with_redis.py -- $(BIN)/honcho start

# Tests never run in DEBUG and need a secret of the right shape; this one is for tests only.
test: export SECRET_KEY := test-only-secret-key-not-for-any-deployment-0123456789
test: export DEBUG := 0
test: export ALLOWED_HOSTS := 127.0.0.1,localhost,testserver
# Its own queue and key prefix, so a run can share a Redis without touching anyone's data.
TEST_ID := test-$(shell date +%s%N)
test: export CELERY_QUEUE := consistency-lab-$(TEST_ID)
test: export REDIS_KEY_PREFIX := clab-$(TEST_ID):
# Two cores, and many tests wait on a browser, a worker or a server: one more process than cores.
TEST_PROCESSES ?= 3
test: setup
	@bash scripts/ensure_chromium.sh
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python scripts/with_redis.py -- $(BIN)/python -m pytest -n $(TEST_PROCESSES) $(PYTEST_ARGS)

bench: export SECRET_KEY := bench-only-secret-key-not-for-any-deployment-0123456789
bench: setup
	$(BIN)/python scripts/with_redis.py -- $(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) var
