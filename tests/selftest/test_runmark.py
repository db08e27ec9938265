"""Which run's leftovers a sweep may remove: a run whose lease lapsed, or whose runner is seen gone
from its own machine and PID namespace; never a live run seen from elsewhere."""

import dataclasses
import os
from types import SimpleNamespace

from helpers.vm import runmark
from helpers.vm.runmark import RunMark


def test_a_run_is_dead_once_its_lease_lapsed_whoever_looks():
    mark = RunMark.current("1a2b3c")
    assert not mark.is_dead({"1a2b3c"})
    assert mark.is_dead(set())


def test_a_runner_gone_is_seen_only_from_its_own_pid_namespace():
    gone = dataclasses.replace(RunMark.current("1a2b3c"), started="0")  # its pid is another's
    assert gone.is_dead({"1a2b3c"})
    elsewhere = dataclasses.replace(gone, pid_namespace="pid:[1]")
    assert not elsewhere.is_dead({"1a2b3c"}), "a pid from another namespace proves nothing"
    assert not dataclasses.replace(gone, boot_id="another-boot").is_dead({"1a2b3c"})


def test_a_mark_reads_back_from_its_line_and_a_short_line_is_no_mark():
    mark = RunMark.current("1a2b3c")
    assert RunMark.from_text(mark.to_text()) == mark
    assert mark.pid == os.getpid() and mark.pid_namespace.startswith("pid:[")
    assert RunMark.from_text("1a2b3c boot 12 34\n") is None


class FakeDomain:
    def __init__(self, name, active, persistent):
        self._name, self.active, self.persistent, self.calls = name, active, persistent, []

    def name(self):
        return self._name

    def isActive(self):
        return self.active

    def isPersistent(self):
        return self.persistent

    def destroy(self):
        self.calls.append("destroy")

    def undefineFlags(self, flags):
        self.calls.append("undefine")


def test_a_dead_runs_guest_left_defined_is_undefined_by_the_sweep(monkeypatch):
    dead = SimpleNamespace(is_dead=lambda live: True)
    monkeypatch.setattr(runmark.RunMark, "of", classmethod(lambda cls, domain: dead))
    running = FakeDomain("vmiso-1-a", True, False)
    saved = FakeDomain("vmiso-1-b", False, True)  # killed during ESC-10's managed save
    other = FakeDomain("web", True, True)
    conn = SimpleNamespace(listAllDomains=lambda flags: [running, saved, other])
    assert runmark.sweep(conn, "vmiso-", set()) == ["vmiso-1-a", "vmiso-1-b"]
    assert (running.calls, saved.calls, other.calls) == (["destroy"], ["undefine"], [])
