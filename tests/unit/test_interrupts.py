"""Cleanup under interrupts.held(): a first Ctrl-C waits until the cleanup is done, a second one
stops it at once."""

import os
import signal

import pytest

from helpers.local import interrupts


def test_a_ctrl_c_during_cleanup_is_raised_once_the_cleanup_is_done():
    """The handler is given back as it was: Python's own, or SIG_IGN where the run was started
    in the background of a shell without job control."""
    before = signal.getsignal(signal.SIGINT)
    done = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts.held():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("folder removed")
    assert done == ["folder removed"]
    assert signal.getsignal(signal.SIGINT) is before


def test_a_second_signal_stops_a_cleanup_that_hangs():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts.held():
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGINT)
            done.append("never reached")
    assert done == []
