"""Settings come from the environment and fail loudly; logs are JSON lines with a request id."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.templatetags.static import static

from config.logging import JsonFormatter, RequestIdFilter, request_id_var

ROOT = Path(__file__).resolve().parent.parent


def _django_check(**env):
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


def test_it_refuses_to_start_with_debug_off_and_no_secret_key(tmp_path):
    result = _django_check(DEBUG="0", SECRET_KEY_FILE=str(tmp_path / "absent"))
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_reads_the_secret_key_that_make_run_generated(tmp_path):
    (tmp_path / "secret_key").write_text("s" * 50 + "\n")
    result = _django_check(DEBUG="0", SECRET_KEY_FILE=str(tmp_path / "secret_key"), ALLOWED_HOSTS="example.org")
    assert result.returncode == 0, result.stderr


def test_it_refuses_a_short_or_placeholder_secret_key():
    assert _django_check(DEBUG="0", SECRET_KEY="short").returncode != 0
    assert _django_check(DEBUG="0", SECRET_KEY="django-insecure-" + "x" * 40).returncode != 0


def test_it_starts_with_debug_off_and_a_real_secret_key():
    result = _django_check(DEBUG="0", SECRET_KEY="a" * 50, ALLOWED_HOSTS="example.org")
    assert result.returncode == 0, result.stderr


def test_a_malformed_boolean_is_an_error_not_a_guess():
    result = _django_check(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


@pytest.mark.django_db
def test_each_response_carries_a_request_id(client):
    response = client.get("/healthz")
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_a_well_formed_upstream_request_id_is_kept_and_a_forged_one_is_not(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-123-def")["X-Request-ID"] == "abc-123-def"
    assert client.get("/healthz", HTTP_X_REQUEST_ID='x" injected\n')["X-Request-ID"] != 'x" injected\n'


def test_log_lines_are_json_with_the_request_id():
    record = logging.makeLogRecord({"name": "playground", "levelname": "INFO", "msg": "run %s", "args": ("done",)})
    record.run_id = "r-1"
    token = request_id_var.set("req-42")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "run done"
    assert line["request_id"] == "req-42"
    assert line["run_id"] == "r-1"


@pytest.mark.django_db
def test_a_failing_request_is_logged_as_json_with_its_id(client):
    captured = []

    class Capture(logging.Handler):
        def emit(self, record):
            captured.append(self.format(record))

    handler = Capture()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        response = client.get("/lessons/no-such-lesson/", HTTP_X_REQUEST_ID="trace-0001")
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 404
    entries = [json.loads(line) for line in captured]
    assert any(entry["request_id"] == "trace-0001" and entry["status_code"] == 404 for entry in entries)


def test_static_files_are_hashed_and_served_compressed(client):
    url = static("js/run_chart.js")
    assert url != "/static/js/run_chart.js"  # a content hash is in the name
    response = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]


def test_plotly_is_the_vendored_basic_bundle_not_a_cdn(client):
    response = client.get(static("vendor/plotly/plotly-basic.min.js"))
    assert response.status_code == 200
    assert b"plotly.js (basic - minified) v4.1.1" in b"".join(response.streaming_content)[:2000]
