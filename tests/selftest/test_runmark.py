"""Which run's leftovers a sweep may remove: a run whose lease lapsed, or whose runner is seen gone
from its own machine and PID namespace; never a live run seen from elsewhere."""

import dataclasses
import os

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
