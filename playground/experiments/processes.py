"""Child processes of live engines die with the process that started them."""

import signal

from billiard.util import set_pdeathsig


def die_with_parent() -> None:
    """A `preexec_fn` for subprocess.Popen: SIGKILL the child when its parent dies.

    Celery's prefork children already die with the worker (billiard sets their
    PR_SET_PDEATHSIG); this carries the same guarantee one level further down,
    to the writers, relays and consumers a live run starts, so that a SIGKILLed
    worker leaves none of them behind. It only calls prctl(2): safe between fork and exec.
    """
    set_pdeathsig(signal.SIGKILL)
