"""DEV-09's arithmetic and shell: what the host's /proc says a guest and its neighbour got, when
the guest was starved, and the commands that load the neighbour (read by sh -n)."""

import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.probes.coresidency import neighbour
from helpers.probes.coresidency.killedneighbour import Reading, changes
from helpers.probes.coresidency.neighbour import ALONE, Bout
from helpers.probes.hostfiles import Label

# /proc/PID/stat of a QEMU whose -name holds ') (' : utime 250, stime 50 ticks
QEMU_STAT = ("4242 (qemu-system-x86) (x)) S 1 4242 4242 0 -1 4194560 52 0 0 0 250 50 0 0 20 "
             "0 6 0 6490903 3000000 1000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1")


def bout(guest, neighbour_cpu, load="CPU hog on every vCPU", seconds=1.1):
    return Bout(load, seconds, guest, neighbour_cpu, guest + neighbour_cpu, 1000, 0.02)


ALONE_TCG = bout(1.07, 0.01, ALONE, 1.09)  # under TCG the SSH session is CPU too
ALONE_KVM = bout(0.60, 0.0, ALONE, 0.70)


def test_cpu_seconds_add_user_and_system_ticks_after_the_last_parenthesis():
    assert neighbour.cpu_seconds(QEMU_STAT) == 3.0


def test_the_hosts_busy_time_leaves_idle_and_iowait_out():
    stat = "cpu  100 10 50 9000 40 5 5 2 0 0\ncpu0 50 5 25 4500 20 2 2 1 0 0\n"
    assert neighbour.host_busy_seconds(stat) == pytest.approx((100 + 10 + 50 + 5 + 5 + 2) / 100)


def test_the_loops_count_is_the_last_number_printed():
    assert neighbour.loops_counted("113997\n") == 113997
    with pytest.raises(ValueError, match="printed no count"):
        neighbour.loops_counted("Terminated\n")


def test_a_guest_given_what_its_neighbour_got_is_not_starved():
    assert not bout(1.02, 1.09).starved(0.8, ALONE_TCG)
    assert not bout(1.05, 0.40, "disk write flood (O_DIRECT)").starved(0.8, ALONE_TCG)
    assert not bout(0.60, 5.6, seconds=0.7).starved(0.8, ALONE_KVM)  # eight busy vCPUs, 8 cores


def test_a_guest_beside_a_neighbour_with_more_threads_is_starved():
    assert bout(0.40, 1.60).starved(0.8, ALONE_TCG)  # four vCPU threads to one, no cgroup each
    console = bout(0.59, 0.96, "console flood (its serial port)", 1.11)  # virtlogd's CPU
    assert console.starved(0.8, ALONE_TCG)


def test_a_guest_asks_the_share_of_its_window_it_used_alone():
    assert bout(0, 0, seconds=1.4).asked_s(ALONE_KVM) == pytest.approx(1.2)
    assert bout(0, 0, seconds=1.4).asked_s(bout(1.2, 0, ALONE, 1.0)) == 1.4  # at most a core


@given(st.floats(0, 4), st.floats(0, 4), st.floats(0.05, 1), st.floats(0.1, 3))
def test_starved_exactly_when_below_the_share_of_what_it_asked_or_the_neighbour_got(
        guest, other, share, seconds):
    loaded = bout(guest, other, seconds=seconds)
    assert loaded.starved(share, ALONE_KVM) == \
        (guest < share * min(min(1.0, 0.6 / 0.7) * seconds, other))


def test_a_neighbour_that_used_little_cpu_ran_no_load():
    assert bout(1.0, 0.1).idle_neighbour
    assert not bout(1.0, 0.5).idle_neighbour
    assert not bout(1.0, 0.0, ALONE).idle_neighbour


@pytest.mark.parametrize("load", list(neighbour.LOADS))
def test_every_load_command_is_valid_shell_and_bounded_in_time(load):
    command = neighbour.load_command(load)
    assert subprocess.run(["sh", "-n", "-c", command]).returncode == 0
    assert f"timeout {neighbour.LIFETIME_S} " in command
    assert subprocess.run(["sh", "-n", "-c", neighbour.FLOOD_TARGET]).returncode == 0


def test_the_guests_loop_counts_until_stopped_and_prints_how_far():
    done = subprocess.run(["sh", "-c", neighbour.LOOP], capture_output=True, text=True,
                          timeout=10)
    assert neighbour.loops_counted(done.stdout) > 0


def test_stopping_a_load_kills_its_whole_session_by_its_id():
    assert neighbour.stop_command("812").startswith("kill -KILL -812 ")
    with pytest.raises(ValueError):
        neighbour.stop_command("812; reboot")


def test_a_skipped_load_says_why():
    skipped = Bout("console flood (its serial port)", 0, 0, 0, 0, 0, 0, skipped="no serial port")
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
