"""Overload and guessing: run submissions are limited per session, per address and globally;
sign-in is throttled by django-axes on the sign-in form and on /admin/login/."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client

from playground.models import ExperimentRun

from .support import an_address_early_in_its_window, burst, patient_rate_limit_counters

pytestmark = pytest.mark.django_db

URL = "/experiments/dual-write/"


def run_data(**overrides):
    return {"mode": "naive", "orders": 100, "crash_probability": 0.02, "outage_start_ms": 3000, "outage_ms": 0,
            "relay_crash_probability": 0, "seed": 7, "idempotency_key": uuid.uuid4().hex, "prediction": 1,
            **overrides}


def test_a_client_that_drops_its_cookie_is_still_limited_by_its_address(settings, caplog):
    settings.RUNS_PER_MINUTE_PER_ADDRESS = 5
    patient_rate_limit_counters(settings)
    address, left = an_address_early_in_its_window(group="runs-per-address", rate="5/m")
    statuses, took = burst(lambda _: Client(REMOTE_ADDR=address).post(URL, run_data()), 6)  # a new session each time
    assert statuses == [302] * 5 + [429], f"{took}, {left} s were left in its window; {caplog.messages}"
    refused = Client(REMOTE_ADDR=address).post(URL, run_data())
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    html = refused.content.decode()
    assert "Your network address started more than 5 runs in a minute" in html and "Try again in" in html
    assert ExperimentRun.objects.count() == 5


def test_a_full_queue_refuses_new_runs_for_everyone_with_a_readable_429(client, settings):
    settings.RUN_QUEUE_CAP = 3
    for seed in range(3):
        ExperimentRun.objects.create(experiment_slug="dual-write", params={}, seed=seed)
    response = client.post(URL, run_data())
    assert response.status_code == 429 and response["Retry-After"] == "30"
    assert "The queue is full" in response.content.decode()
    assert ExperimentRun.objects.count() == 3


@pytest.mark.parametrize("login_url", ["/accounts/login/", "/admin/login/"])
def test_wrong_passwords_lock_the_account_out_and_say_when_to_try_again(client, settings, login_url):
    settings.AXES_FAILURE_LIMIT = 3  # the same mechanism as the default 5, with fewer slow password hashes
    User.objects.create_superuser("root", password="the right password 42")
    statuses = [client.post(login_url, {"username": "root", "password": f"guess {i}"}).status_code
                for i in range(settings.AXES_FAILURE_LIMIT)]
    assert 429 not in statuses[:-1]
    # Locked now, even with the right password, and from another session.
    locked = Client().post(login_url, {"username": "root", "password": "the right password 42"})
    assert locked.status_code == 429
    assert locked["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    assert "Too many wrong passwords" in locked.content.decode()
    assert "_auth_user_id" not in locked.wsgi_request.session


def test_a_right_password_after_a_few_wrong_ones_signs_in(client):
    User.objects.create_user("ada", password="the right password 42")
    for i in range(2):
        assert client.post("/accounts/login/", {"username": "ada", "password": f"guess {i}"}).status_code == 200
    assert client.post("/accounts/login/", {"username": "ada", "password": "the right password 42"}).status_code == 302
