"""Cleanup under interrupts.held(): a first Ctrl-C waits until the cleanup is done, a second one
stops it at once."""

import os
import signal
import sys
import types

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


def lineless_interrupt():
    """A KeyboardInterrupt raised in a `finally` after another: its own traceback and its
    context's each hold a frame Python gives no line number (an instruction offset past the
    code), as an interrupt between two instructions can leave."""
    def with_lineless_frame(error):
        frame = sys._getframe()
        tb = types.TracebackType(error.__traceback__, frame, 1 << 20, -1)
        assert tb.tb_lineno is None
        return error.with_traceback(types.TracebackType(tb, frame, frame.f_lasti,
                                                        frame.f_lineno))
    try:
        raise ValueError("the check")
    except ValueError as first:
        context = with_lineless_frame(first)
    interrupt = with_lineless_frame(KeyboardInterrupt("signal 15"))
    interrupt.__context__ = context
    return interrupt


def test_an_interrupt_with_a_lineless_frame_is_reported_not_crashed_on():
    interrupt = lineless_interrupt()
    with pytest.raises(TypeError):  # pytest's own report fails on it
        pytest.ExceptionInfo.from_exception(interrupt).getrepr(funcargs=True)
    interrupts.drop_lineless_frames(interrupt)
    shown = str(pytest.ExceptionInfo.from_exception(interrupt).getrepr(funcargs=True))
    assert "KeyboardInterrupt: signal 15" in shown and "ValueError: the check" in shown
