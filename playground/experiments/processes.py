"""Child processes of live engines die with the process that started them, and are reaped when a run ends."""

import signal
import subprocess

from billiard.util import set_pdeathsig


def die_with_parent() -> None:
    """A `preexec_fn` for subprocess.Popen: SIGKILL the child when its parent dies.

    Celery's prefork children already die with the worker (billiard sets their
    PR_SET_PDEATHSIG); this carries the same guarantee one level further down,
    to the writers, relays and consumers a live run starts, so that a SIGKILLed
    worker leaves none of them behind. It only calls prctl(2): safe between fork and exec.
    """
    set_pdeathsig(signal.SIGKILL)


def stop_processes(processes: list[subprocess.Popen], timeout: float) -> None:
    """Ask each child still running to stop (SIGTERM), kill those that do not in time, reap all, close their pipes."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()
