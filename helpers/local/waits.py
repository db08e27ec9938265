"""Waits with an end: a lock taken, a call answered, a blocking step broken off, each within a
time, or an error that names what was waited for.

    with waits.acquired(lock, 60, "the canary agent (another thread's exchange)", HypervisorError):
        ...
    tree = waits.within(lambda: monitor(domain), 120, "QEMU's monitor", Undecided)
    with waits.deadline(30, channel.close) as fired:   # a wait that takes no timeout of its own
        channel.exec_command(command)
    if fired.is_set():
        raise GuestUnreachable("the guest's sshd did not answer within 30 s")

`error` is the caller's layer's exception (Undecided, HypervisorError, LabError ...), called with
the message alone.
"""

import contextlib
import threading


@contextlib.contextmanager
def acquired(lock, timeout, what, error):
    """Hold `lock` for the body; error(message) when it was not free within `timeout` s."""
    if not lock.acquire(timeout=timeout):
        raise error(f"waited {timeout:g} s for {what}: another thread held it all that time")
    try:
        yield
    finally:
        lock.release()


def within(call, timeout, what, error):
    """call()'s result, or the exception it raised, awaited at most `timeout` s: it runs in a
    thread of its own (for a library call that takes no timeout). error(message) when it had not
    returned by then; it goes on in its thread, as nothing here can stop it."""
    done = threading.Event()
    outcome = {}

    def attempt():
        try:
            outcome["value"] = call()
        except BaseException as err:  # handed to the waiting thread as it was raised
            outcome["error"] = err
        finally:
            done.set()

    threading.Thread(target=attempt, name="vmiso-bounded-call", daemon=True).start()
    if not done.wait(timeout):
        raise error(f"{what}: no answer within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@contextlib.contextmanager
def deadline(seconds, expire):
    """Run the body; if it still runs after `seconds`, call expire() from a timer thread, to end
    a wait that takes no timeout (close the channel it waits on, kill the process it reads).
    Yields an Event set once expire() was called: what the body got after that is not to be
    trusted, and the caller raises its error."""
    fired = threading.Event()

    def fire():
        fired.set()
        expire()

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()
