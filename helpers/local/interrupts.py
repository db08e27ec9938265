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


def drop_lineless_frames(error):
    """Unlink from `error`'s traceback, and from those of the exceptions chained to it, every
    frame Python gives no line number (an interrupt that lands between two instructions can
    leave one): pytest's report of an interrupt fails on such a frame and prints its own
    traceback in place of the run's end."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        error.__traceback__ = _kept(error.__traceback__)
        error = error.__cause__ or error.__context__


def _kept(tb):
    head = tb
    while head is not None and head.tb_lineno is None:
        head = head.tb_next
    node = head
    while node is not None:
        while node.tb_next is not None and node.tb_next.tb_lineno is None:
            node.tb_next = node.tb_next.tb_next
        node = node.tb_next
    return head
