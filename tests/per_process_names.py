"""A pytest plugin (loaded with -p, before pytest-django reads the settings).

Under pytest-xdist each test process gets its own Celery queue and Redis key
prefix, so its Celery worker never takes a run that another process created
in another test database.
"""

import os

_process = os.environ.get("PYTEST_XDIST_WORKER")
if _process:
    for _name in ("CELERY_QUEUE", "REDIS_KEY_PREFIX"):
        if _name in os.environ and not os.environ[_name].endswith(f"{_process}-"):
            os.environ[_name] = f"{os.environ[_name]}{_process}-"
