import os

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

from .logging import request_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("consistency_lab")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# The id of the request that queued a task follows it into the worker's log lines.
@before_task_publish.connect
def _send_request_id(headers=None, **kwargs):
    request_id = request_id_var.get()
    if headers is not None and request_id != "-":
        headers.setdefault("request_id", request_id)


@task_prerun.connect
def _adopt_request_id(task=None, **kwargs):
    request_id = task.request.get("request_id") if task is not None else None
    if request_id:
        task.request.request_id_token = request_id_var.set(request_id)


@task_postrun.connect
def _forget_request_id(task=None, **kwargs):
    token = getattr(task.request, "request_id_token", None) if task is not None else None
    if token is not None:
        request_id_var.reset(token)
