"""Cleanup that a Ctrl-C must not cut short: a run's guests, canaries and lab all torn down.

    with interrupts.held():
        teardown()

Within the block the first SIGINT or SIGTERM is held, and raised as KeyboardInterrupt when the
block ends (with `reraise`); a second one interrupts at once, so a cleanup that hangs can still
be stopped. Outside the main thread, where Python cannot set handlers, the block runs as it is.
"""

import contextlib
import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def held(reraise=True):
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []

    def hold(signum, frame):
        if caught:
            raise KeyboardInterrupt(f"signal {signum}")
        caught.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if caught and reraise:
        raise KeyboardInterrupt(f"signal {caught[0]}")
