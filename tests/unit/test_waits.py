"""Waits that end (helpers/local/waits.py and its users): a lock another thread holds, a call
that never returns, a read nobody answers and a command that never exits each end within their
bound in an error that names what was waited for; nothing is left blocked behind them."""

import queue
import socket
import threading
import time

import pytest

from helpers.host import canaryagent, portforward
from helpers.host.canaryagent import CanaryAgent
from helpers.host.errors import HypervisorError
from helpers.local import command, waits
from helpers.probes.shares import vnc
from helpers.verdict.undecided import Undecided

SHORT_S = 0.3
ENDS_S = 30  # far past SHORT_S; a wait that had not ended by then would be a hang


class Stuck(Exception):
    pass


def held_elsewhere(lock, release):
    """`lock` taken by another thread until `release` is set."""
    taken = threading.Event()

    def hold():
        with lock:
            taken.set()
            release.wait(ENDS_S)

    threading.Thread(target=hold, daemon=True).start()
    assert taken.wait(ENDS_S)


def test_a_lock_another_thread_keeps_ends_the_wait_in_an_error_naming_it():
    lock, release = threading.Lock(), threading.Event()
    held_elsewhere(lock, release)
    started = time.monotonic()
    with pytest.raises(Stuck, match=r"waited 0\.3 s for the image cache: another thread held"):
        with waits.acquired(lock, SHORT_S, "the image cache", Stuck):
            pass
    assert SHORT_S <= time.monotonic() - started < ENDS_S
    release.set()


def test_a_free_lock_is_held_for_the_body_and_let_go_after_it():
    lock = threading.Lock()
    with waits.acquired(lock, SHORT_S, "a lock", Stuck):
        assert lock.locked()
    assert not lock.locked()


def test_a_call_that_never_returns_ends_in_an_error_naming_it():
    never = threading.Event()
    with pytest.raises(Stuck, match=r"HMP 'info qtree': no answer within 0\.3 s"):
        waits.within(lambda: never.wait(), SHORT_S, "HMP 'info qtree'", Stuck)
    never.set()


def test_a_bounded_call_gives_its_result_or_its_own_error():
    assert waits.within(lambda: 42, ENDS_S, "a call", Stuck) == 42
    with pytest.raises(KeyError, match="missing"):
        waits.within(lambda: {}["missing"], ENDS_S, "a call", Stuck)


def test_a_deadline_breaks_a_read_that_has_no_timeout():
    near, far = socket.socketpair()
    with near, far:
        with waits.deadline(SHORT_S, lambda: near.shutdown(socket.SHUT_RDWR)) as fired:
            assert near.recv(16) == b""  # woken by the shutdown, not by data
        assert fired.is_set()


def test_a_body_done_in_time_is_never_broken_off():
    expired = []
    with waits.deadline(SHORT_S, lambda: expired.append(True)) as fired:
        pass
    time.sleep(2 * SHORT_S)
    assert not fired.is_set() and expired == []


def test_a_command_past_its_timeout_is_killed_and_named():
    started = time.monotonic()
    with pytest.raises(Stuck, match=r"`sh -c 'sleep 30 & wait'` did not finish within 0\.3 s"):
        command.run("sh", "-c", "sleep 30 & wait", error=Stuck, purpose="a test",
                    timeout=SHORT_S, own_group=True)
    assert time.monotonic() - started < ENDS_S


def test_a_vnc_server_that_never_answers_is_undecided():
    near, far = socket.socketpair()
    with near, far:
        near.settimeout(SHORT_S)
        far.sendall(b"RFB 0")  # 5 of the greeting's 12 bytes, then silence
        with pytest.raises(Undecided, match=r"sent nothing for 0\.3 s after 5 of 12 bytes"):
            vnc.cut_text(near, "vmiso-clip-1234")


def forward_threads(before=()):
    """The forward threads alive now that were not in `before` (another test's may linger)."""
    return [t for t in threading.enumerate()
            if t.name.startswith("vmiso-forward") and t not in before]


def test_leaving_a_forward_ends_its_threads_while_both_ends_stay_silent():
    before = set(forward_threads())
    service = socket.create_server(("127.0.0.1", 0))
    service.settimeout(ENDS_S)
    with service:
        def dial(address, port, timeout):
            return socket.create_connection((address, port), timeout)

        with portforward.Forward(dial, "127.0.0.1", service.getsockname()[1]) as port:
            client = socket.create_connection(("127.0.0.1", port), ENDS_S)
            far, _ = service.accept()  # the forward's own connection: it never speaks
            deadline = time.monotonic() + ENDS_S
            while len(forward_threads(before)) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(forward_threads(before)) == 3  # accepting, and copying both ways
        deadline = time.monotonic() + ENDS_S
        while forward_threads(before) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert forward_threads(before) == []
        client.close()
        far.close()


class StuckProcess:
    """vmiso-canary as the agent sees it, once it stopped reading: a line sent never returns
    (until the test lets go)."""

    def __init__(self):
        self.released = threading.Event()
        self.sending = threading.Event()

    def send(self, line):
        self.sending.set()
        self.released.wait(ENDS_S)

    def lines(self):
        self.released.wait(ENDS_S)
        return iter(())

    def close(self):
        self.released.set()


def test_a_question_to_the_canary_agent_stuck_behind_another_threads_line_ends(monkeypatch):
    monkeypatch.setattr(canaryagent, "HEARTBEAT_S", 0.01)
    monkeypatch.setattr(canaryagent, "QUEUE_S", SHORT_S)
    process = StuckProcess()
    agent = CanaryAgent(hypervisor=None, process=process, folder=None)
    assert process.sending.wait(ENDS_S)  # the heartbeat holds the agent's input
    with pytest.raises(HypervisorError, match=r"waited 0\.3 s for the canary agent's input"):
        agent.watch("10.216.0.120")
    agent.close()


class LateProcess:
    """vmiso-canary answering the test's lines when the test says, not when asked."""

    def __init__(self):
        self.said = queue.Queue()

    def send(self, line):
        pass

    def lines(self):
        while (line := self.said.get(timeout=ENDS_S)) is not None:
            yield line

    def close(self):
        self.said.put(None)


def test_an_answer_that_came_too_late_is_never_taken_for_the_next_questions(monkeypatch):
    monkeypatch.setattr(canaryagent, "REPLY_TIMEOUT", SHORT_S)
    process = LateProcess()
    agent = CanaryAgent(hypervisor=None, process=process, folder=None)
    with pytest.raises(HypervisorError, match="did not answer `watch 10.216.0.120`"):
        agent.watch("10.216.0.120")
    process.said.put("watching 10.216.0.120\n")  # the first question's answer, late
    with pytest.raises(HypervisorError, match="no later answer can be matched"):
        agent.watch("10.216.0.121")
    assert agent.watched == set()
    agent.close()
