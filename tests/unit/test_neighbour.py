"""DEV-09's arithmetic and shell: what the host's /proc says a guest and its neighbour got, when
the guest was starved, and the commands that load the neighbour and spin the guest's loop."""

import dataclasses
import subprocess
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.probes.coresidency import neighbour
from helpers.probes.coresidency.killedneighbour import Reading, changes, shared_changes
from helpers.probes.coresidency.neighbour import ALONE, Bout
from helpers.probes.hostfiles import Label

SAMPLE = """== 4242
250000000 10 4
50000000 10 4
== 4343
1000000000 10 4
cpu  100 10 50 9000 40 5 5 2 0 0
up 1200.50
"""
LATER = """== 4242
550000000 10 4
50000000 10 4
== 4343
1300000000 10 4
cpu  130 10 60 9000 40 5 5 2 0 0
up 1200.81
"""


def bout(guest, neighbour_cpu, load="CPU hog on every vCPU", seconds=0.4):
    return Bout(load, seconds, guest, neighbour_cpu, guest + neighbour_cpu, 0.02)


def test_a_sample_adds_every_threads_run_time_and_the_hosts_busy_time():
    assert neighbour.sample(SAMPLE, 4242, 4343) == pytest.approx(
        (1200.5, 0.3, 1.0, (100 + 10 + 50 + 5 + 5 + 2) / 100))


def test_a_window_is_what_each_got_between_its_two_readings():
    assert neighbour.window(SAMPLE + "--\n" + LATER, 4242, 4343) == pytest.approx(
        (0.31, 0.3, 0.3, 0.4))


def test_the_window_command_reads_twice_with_the_window_between(tmp_path):
    text = subprocess.run(["sh", "-c", neighbour.WINDOW, "sh", "1", "1"], capture_output=True,
                          text=True, timeout=10).stdout
    seconds, guest, other, _ = neighbour.window(text, 1, 1)
    tick = 0.01 + 1e-9  # /proc/uptime counts hundredths: two readings 0.3 s apart may say 0.29
    assert neighbour.WINDOW_S - tick <= seconds < neighbour.WINDOW_S + 1 and guest == other >= 0


def test_a_sample_without_a_qemus_threads_or_the_hosts_clock_is_no_sample():
    with pytest.raises(ValueError, match="no scheduler statistics for QEMU pid 4343"):
        neighbour.sample("== 4242\n1 1 1\n== 4343\ncpu 1 1 1 1\nup 1.0\n", 4242, 4343)
    with pytest.raises(ValueError, match="/proc/uptime"):
        neighbour.sample("== 4242\n1 1 1\n== 4343\n1 1 1\ncpu 1 1 1 1\n", 4242, 4343)
    with pytest.raises(ValueError, match="no second reading"):
        neighbour.window(SAMPLE, 4242, 4343)


def test_the_loops_count_is_the_last_number_written():
    assert neighbour.loops_counted("113997\n") == 113997
    with pytest.raises(ValueError, match="wrote no count"):
        neighbour.loops_counted("Terminated\n")


def test_a_guest_given_what_its_neighbour_got_is_not_starved():
    assert not bout(0.20, 0.21).starved(0.5)  # a cgroup each, on a host busy with other work
    assert not bout(0.41, 0.77, "console flood (its serial port)", 1.43).starved(0.5)  # busier
    assert not bout(0.29, 0.41, "disk write flood (O_DIRECT)").starved(0.5)


def test_a_guest_given_its_core_is_not_starved_however_much_its_neighbour_got():
    assert not bout(0.39, 3.2).starved(0.5)  # eight busy vCPUs on a host with cores to spare


def test_a_guest_beside_a_neighbour_with_more_threads_is_starved():
    assert bout(0.211, 0.591, seconds=0.407).starved(0.5)  # four vCPU threads to one, 2 cores
    assert bout(0.37, 1.13, seconds=0.87).starved(0.5)  # the same, the host busy besides


def test_two_windows_are_judged_as_one():
    both = bout(0.1, 0.4).joined(bout(0.3, 0.4))
    assert (both.seconds, both.guest_cpu_s, both.neighbour_cpu_s, both.windows) == \
        pytest.approx((0.8, 0.4, 0.8, 2))
    assert not both.starved(0.5) and bout(0.1, 0.4).starved(0.5)
    assert "(2 windows)" in both.describe()


@given(st.floats(0, 4), st.floats(0, 4), st.floats(0.05, 1), st.floats(0.1, 3))
def test_starved_exactly_when_short_of_its_core_and_below_the_share_of_the_neighbours(
        guest, other, share, seconds):
    assert bout(guest, other, seconds=seconds).starved(share) == \
        (guest < neighbour.SATISFIED * seconds and guest < share * other)


def test_a_neighbour_that_used_little_cpu_beside_the_guest_ran_no_load():
    assert bout(0.4, 0.05).idle_neighbour
    assert not bout(0.4, 0.2).idle_neighbour
    assert not bout(0.16, 0.18, seconds=0.63).idle_neighbour  # a host busy with other work
    assert bout(0.0, 0.0).idle_neighbour  # nothing ran: nothing is shown
    assert not bout(0.4, 0.0, ALONE).idle_neighbour


@pytest.mark.parametrize("load", list(neighbour.LOADS))
def test_every_load_command_is_valid_shell_and_bounded_in_time(load):
    command = neighbour.load_command(load)
    assert subprocess.run(["sh", "-n", "-c", command]).returncode == 0
    assert f"(sleep {neighbour.LIFETIME_S}; kill -KILL 0) & " in command
    assert subprocess.run(["sh", "-n", "-c", neighbour.FLOOD_TARGET]).returncode == 0


def test_the_guests_loop_spins_until_stopped_and_writes_how_far(tmp_path):
    output = str(tmp_path / "loop")
    start = neighbour.LOOP_START.replace(neighbour.LOOP_OUTPUT, output)
    session = subprocess.run(["sh", "-c", start], capture_output=True, text=True).stdout
    time.sleep(neighbour.SETTLE_S)  # its trap is set
    stop = neighbour.loop_stop(session.strip()).replace(neighbour.LOOP_OUTPUT, output)
    printed = subprocess.run(["sh", "-c", stop], capture_output=True, text=True, timeout=10)
    assert neighbour.loops_counted(printed.stdout) > 0
    assert not (tmp_path / "loop").exists()


def test_stopping_a_load_kills_its_whole_session_by_its_id():
    assert neighbour.stop_command("812").startswith("kill -KILL -812 ")
    with pytest.raises(ValueError):
        neighbour.stop_command("812; reboot")
    with pytest.raises(ValueError):
        neighbour.loop_stop("812; reboot")


def test_a_skipped_load_says_why():
    skipped = Bout("console flood (its serial port)", 0, 0, 0, 0, skipped="no serial port")
    assert skipped.describe() == "not run: no serial port"


READING = Reading("pid 7 started at tick 10, uid 64055 gid 64055",
                  {"/var/tmp/a.qcow2": Label("64055:64055", "600", "")},
                  {"52:54:00:00:00:01": "vmiso-no-host-access"}, "answers")


def test_a_neighbours_death_that_changes_nothing_leaves_no_change():
    assert changes(READING, READING) == []


def test_every_change_to_the_running_guest_is_named():
    after = Reading("", {"/var/tmp/a.qcow2": Label("0:0", "600", "")}, {}, "no answer (gone)")
    found = changes(READING, after)
    assert len(found) == 4
    assert found[0].startswith("its QEMU: pid 7") and found[0].endswith("gone after")
    assert "/var/tmp/a.qcow2: 64055:64055 600 before, 0:0 600 after" in found


class FakeShell:
    """A guest's open shell: records each command, answers a session id or the loop's count."""

    def __init__(self, where):
        self.where, self.commands = where, []

    def run(self, command):
        from helpers.vm.shell import Done

        self.commands.append(command)
        stopped = command.startswith("kill -TERM")
        return Done(0, "5123\n" if stopped else f"{700 + len(self.commands)}\n")


class FakeHost:
    """The host: window n shows the guest and its neighbour got splits[n] (the last one again
    after the list) of its 0.3 s."""

    def __init__(self, *splits):
        self.splits, self.windows = splits, 0

    def run(self, *argv):
        assert argv[:3] == ("sh", "-c", neighbour.WINDOW)
        guest, other = self.splits[min(self.windows, len(self.splits) - 1)]
        self.windows += 1
        later = (f"== 4242\n{int(guest * 1e9) + 1}\n== 4343\n{int(other * 1e9) + 1}\n"
                 f"cpu  100 0 0 0\nup 10.30\n")
        return "== 4242\n1\n== 4343\n1\ncpu  70 0 0 0\nup 10.00\n--\n" + later


def test_a_bout_shows_how_the_core_is_shared_once_the_pair_got_enough_cpu_between_them():
    assert bout(0.15, 0.15, seconds=0.3).informative
    assert not bout(0.012, 0.067, "console flood (its serial port)", 0.31).informative  # seen
    assert bout(0.125, 0.491, seconds=0.62).informative  # four vCPUs to one: the leak is seen
    assert bout(0.077, 0.076, seconds=0.31).joined(bout(0.08, 0.07, seconds=0.31)).informative


def test_a_contest_switches_each_load_in_one_command_and_stops_everything_it_started():
    inside, beside, host = FakeShell("guest"), FakeShell("neighbour"), FakeHost((0.15, 0.15))
    bouts, loops = neighbour.contest(inside, beside, host, 4242, 4343, 0.5)
    assert [b.load for b in bouts] == [ALONE, *neighbour.LOADS] and loops == 5123
    assert host.windows == len(neighbour.LOADS) + 1 and not any(b.starved(0.5) for b in bouts)
    assert inside.commands[0] == neighbour.LOOP_START and inside.commands[1].startswith("kill")
    assert len(beside.commands) == len(neighbour.LOADS) + 1  # one per load, one final stop
    for started, switch in enumerate(beside.commands[1:-1], 701):  # the last load's session
        assert switch.startswith(neighbour.stop_command(str(started)) + "; ")
    assert beside.commands[-1] == neighbour.stop_command(str(700 + len(neighbour.LOADS)))


def test_a_starved_guest_is_read_in_a_second_window_and_a_portless_guest_floods_no_console():
    inside, beside, host = FakeShell("guest"), FakeShell("neighbour"), FakeHost((0.05, 0.25))
    bouts, _ = neighbour.contest(inside, beside, host, 4242, 4343, 0.5, serial=False)
    judged = [b for b in bouts[1:] if not b.skipped]
    assert all(b.windows == 2 and b.starved(0.5) for b in judged)
    assert bouts[-1].skipped and host.windows == 1 + 2 * len(judged)
    assert not any("ttyS0" in c for c in beside.commands)


def test_windows_too_scant_to_judge_are_joined_until_they_are_five_at_most():
    busy = (0.077, 0.076)  # seen: each guest a quarter of the core, the rest the host's
    host = FakeHost((0.3, 0.0), busy)
    bouts, _ = neighbour.contest(FakeShell("guest"), FakeShell("neighbour"), host, 4242, 4343,
                                 0.5)
    assert all(b.windows == 2 and b.informative and not b.starved(0.5) for b in bouts[1:])
    assert "(2 windows)" in bouts[1].describe()
    unfair = FakeHost((0.3, 0.0), (0.01, 0.05), (0.01, 0.05), (0.1, 0.1))  # then a fair window
    hog = neighbour.contest(FakeShell("guest"), FakeShell("neighbour"), unfair, 4242, 4343,
                            0.5)[0][1]
    assert hog.windows == 3 and not hog.starved(0.5)
    never = FakeHost((0.3, 0.0), (0.01, 0.02))
    bouts, _ = neighbour.contest(FakeShell("guest"), FakeShell("neighbour"), never, 4242, 4343,
                                 0.5)
    assert all(not b.informative and b.windows == neighbour.MOST_WINDOWS for b in bouts[1:])
    assert never.windows == 1 + len(neighbour.LOADS) * neighbour.MOST_WINDOWS


def test_the_guest_alone_is_read_until_it_got_enough_cpu_as_each_load_is():
    # seen in CI: the host's other work left both QEMUs nothing in the first window alone
    host = FakeHost((0.0, 0.0), (0.3, 0.0), (0.15, 0.15))
    bouts, _ = neighbour.contest(FakeShell("guest"), FakeShell("neighbour"), host, 4242, 4343,
                                 0.5)
    assert bouts[0].load == ALONE and bouts[0].windows == 2 and bouts[0].guest_cpu_s >= 0.3
    never = FakeHost((0.0, 0.0))
    alone = neighbour.contest(FakeShell("guest"), FakeShell("neighbour"), never, 4242, 4343,
                              0.5)[0][0]
    assert alone.windows == neighbour.MOST_WINDOWS and not alone.guest_cpu_s  # an error, then


def test_the_image_caches_copies_are_noted_apart_and_never_judged():
    kernel = "/var/cache/vmiso/images/libvirt-qemu/c371/vmlinux"
    before = dataclasses.replace(READING, shared={kernel: Label("64055:64055", "444", "")})
    after = dataclasses.replace(READING, shared={kernel: Label("0:0", "444", "")})  # another run
    assert changes(before, after) == []
    assert shared_changes(before, after) == [f"{kernel}: 64055:64055 444 before, 0:0 444 after"]
