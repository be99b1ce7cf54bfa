"""Scratch directories of live runs under var/live, and sweeping up after dead ones.

A directory is held by an exclusive flock for as long as the process using it
lives; the kernel drops the lock when that process dies, however it dies. So a
sweep can remove exactly the directories nobody holds, even ones left by a
SIGKILLed worker on another process, without ever touching a live run's.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from django.conf import settings

LOCK_NAME = ".held"
FRESH_SECONDS = 5


def scratch_root() -> Path:
    return Path(settings.BASE_DIR) / "var" / "live"


@contextmanager
def scratch_dir(prefix: str) -> Iterator[str]:
    """A fresh directory under var/live, locked while in use and removed after."""
    root = scratch_root()
    root.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    lock = os.open(path / LOCK_NAME, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        yield str(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(lock)


def scratch_sweep() -> int:
    """Remove scratch directories whose process died. Returns how many went."""
    root = scratch_root()
    if not root.is_dir():
        return 0
    removed = 0
    for path in root.iterdir():
        lock_path = path / LOCK_NAME
        try:
            if time.time() - lock_path.stat().st_mtime < FRESH_SECONDS:
                continue  # just created: its owner may not hold the lock yet
        except FileNotFoundError:
            continue  # being created or removed right now, or not ours
        try:
            lock = os.open(lock_path, os.O_WRONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue  # its owner just removed it
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a live run holds it
        else:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
        finally:
            os.close(lock)
    return removed
