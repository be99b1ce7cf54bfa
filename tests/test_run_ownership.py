"""Runs belong to the learner who started them, through sign-up and logging out and in."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from playground.experiments import get_experiment
from playground.models import ExperimentRun

pytestmark = pytest.mark.django_db

URL = "/experiments/dual-write/"
PASSWORD = "correct horse battery 42"


def start_run(client, **params) -> ExperimentRun:
    data = {"mode": "naive", "orders": 200, "crash_probability": 0.05, "outage_start_ms": 3000, "outage_ms": 0,
            "relay_crash_probability": 0, "seed": 7, "idempotency_key": uuid.uuid4().hex, "prediction": 3, **params}
    response = client.post(URL, data)
    assert response.status_code == 302, response.content
    return ExperimentRun.objects.get(id=response["Location"].split("/")[2])


def finish(run: ExperimentRun) -> ExperimentRun:
    """What the worker would record, computed here: the simulation is deterministic."""
    frames: list[dict] = []
    summary = get_experiment(run.experiment_slug).run(run.params, run.seed, frames.append)
    ExperimentRun.objects.filter(id=run.id).update(status=ExperimentRun.Status.SUCCEEDED, summary=summary,
                                                   frames=frames, finished_at=timezone.now())
    run.refresh_from_db()
    return run


def test_a_run_started_before_signing_up_can_still_be_cancelled_and_listed_after(client):
    run = start_run(client)
    response = client.post("/accounts/signup/", {"username": "ada", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302  # signed in; Django gave the visitor a new session key
    assert run.label in client.get(URL).content.decode()  # still in "your recent runs"
    assert client.post(f"/runs/{run.id}/cancel").status_code == 302
    run.refresh_from_db()
    assert run.status == ExperimentRun.Status.CANCELLED


def test_runs_survive_logging_out_and_in_and_can_be_compared(client):
    User.objects.create_user("grace", password=PASSWORD)
    assert client.post("/accounts/login/", {"username": "grace", "password": PASSWORD}).status_code == 302
    first = finish(start_run(client, mode="naive"))
    second = finish(start_run(client, mode="outbox", seed=8))
    client.post("/accounts/logout/")
    assert f'value="{first.id}"' not in client.get(second.get_absolute_url()).content.decode()
    assert client.post("/accounts/login/", {"username": "grace", "password": PASSWORD}).status_code == 302
    html = client.get(second.get_absolute_url()).content.decode()
    assert f'<option value="{first.id}"' in html  # offered for comparison again
    assert first.label in client.get(URL).content.decode()


def test_a_shared_run_page_says_you_predicted_only_to_whoever_predicted(client):
    run = finish(start_run(client, prediction=3))
    assert "you predicted" in client.get(run.get_absolute_url()).content.decode()
    stranger = Client().get(run.get_absolute_url()).content.decode()
    assert "you predicted" not in stranger
    assert "whoever ran it predicted" in stranger
    assert Client().post(f"/runs/{run.id}/cancel").status_code == 403


def test_compare_offers_each_different_run_once(client):
    first = finish(start_run(client, mode="naive", seed=1))
    again = finish(start_run(client, mode="naive", seed=1))  # the same parameters and seed: the same result
    other = finish(start_run(client, mode="outbox", seed=1))
    html = client.get(other.get_absolute_url()).content.decode()
    assert html.count('<option value="') == 1
    assert f'value="{again.id}"' in html  # the newest of the two identical runs
    html = client.get(first.get_absolute_url()).content.decode()
    assert f'value="{again.id}"' not in html and f'value="{other.id}"' in html
