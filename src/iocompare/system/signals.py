"""Ctrl-C, SIGTERM and SIGHUP all take the cleanup path of KeyboardInterrupt.

Python turns SIGINT into KeyboardInterrupt, which every `with` block and `finally` of a run
already handles; SIGTERM and SIGHUP raise `Terminated`, a KeyboardInterrupt subclass, to reuse
all of it. Around the start of a child process the signals are held (`SignalsHeld`): a
KeyboardInterrupt raised inside `subprocess.Popen` after the fork would leave a child nobody
kills, so a signal arriving then is raised only once the child is known to its owner.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_held = 0
_pending: int | None = None


class Terminated(KeyboardInterrupt):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_for(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


def _handler(signum: int, _frame: object) -> None:
    global _pending
    if _held:
        _pending = signum
        return
    _raise_for(signum)


class SignalsHeld:
    """Hold handled signals until `release()` (or the end of the block), then raise the pending one."""

    def __init__(self) -> None:
        self._released = False

    def __enter__(self) -> SignalsHeld:
        global _held
        _held += 1
        return self

    def release(self) -> None:
        global _held, _pending
        if self._released:
            return
        self._released = True
        _held -= 1
        if _held == 0 and _pending is not None:
            signum, _pending = _pending, None
            _raise_for(signum)

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    # SIGINT too: a process started in the background of a non-interactive shell inherits SIGINT
    # as ignored, and Python then installs no KeyboardInterrupt handler; a run must stop anyway.
    previous = {sig: signal.signal(sig, _handler) for sig in HANDLED}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
