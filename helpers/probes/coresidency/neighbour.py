"""A busy neighbour against the guest (DEV-09): the sibling runs one load at a time (a CPU hog on
every vCPU, a memory squeeze, a disk write flood, a console flood) while the guest runs a timed
loop, and the host reads the CPU time each guest's QEMU got meanwhile.

    bouts = contest(guest, sibling)      # the guest alone first, then one bout per load
    [b.describe() for b in bouts]
    [b.load for b in bouts[1:] if b.starved(0.8, alone=bouts[0])]

The guest asks for a core: its loop runs ASKED_S, and it asks, bout by bout, as large a share of
the window as it used alone. With its neighbour busy it must get at least `share` of what it
asked, or of what its neighbour got where that is less: a host that schedules each guest
as a whole (a cgroup per guest) gives two busy guests the same, one that schedules threads gives
the guest with more vCPUs more. The loop's slowdown against the guest alone is reported, not
judged: on a shared host any other load slows it as much as its neighbour does.
"""

import shlex
import time
from dataclasses import dataclass

ASKED_S = 0.5  # how long the guest's loop runs
RAMP_S = 0.15  # the load's head start, so that it is running when the guest's loop starts
LIFETIME_S = 8  # every load process ends by itself after this, whatever becomes of vmiso
LEAST_LOAD = 0.3  # of a core: a neighbour using less ran no load, and the bout proves nothing
USER_HZ = 100  # the unit of utime and stime in /proc/PID/stat, fixed by the kernel's ABI
ALONE = "none (the guest alone)"

SPIN = "while :; do :; done"
# The guest's loop: it counts until a timer stops it, and says how far it got.
LOOP = (f"sh -c 'i=0; trap \"echo \\$i; exit 0\" TERM; (sleep {ASKED_S:g}; kill -TERM $$) & "
        f"while :; do i=$((i+1)); done'")
# A writable disk of the neighbour no filesystem is mounted from (the probe image runs from
# RAM), else a file on its root filesystem's disk; nothing where neither is.
FLOOD_TARGET = """root=$(awk '$2 == "/" {d = $1} END {print d}' /proc/mounts)
case "$root" in /dev/*) echo /var/tmp/vmiso-flood; exit;; esac
for dev in /sys/block/vd* /sys/block/sd*; do
  name=${dev##*/}
  [ -e "$dev/ro" ] && [ "$(cat "$dev/ro")" = 0 ] && [ "$(cat "$dev/size")" -ge 32768 ] || continue
  grep -q "^/dev/$name" /proc/mounts || { echo "/dev/$name"; exit; }
done"""


def _bounded(command):
    return f"timeout {LIFETIME_S} sh -c {shlex.quote(command)}"


LOADS = {
    "CPU hog on every vCPU":
        f'for i in $(seq "$(nproc)"); do {_bounded(SPIN)} & done; wait',
    "memory squeeze (70% of its free memory, touched again and again)":
        "mb=$(awk '/MemAvailable/ {print int($2 * 0.7 / 1024)}' /proc/meminfo); " +
        _bounded('while :; do dd if=/dev/zero of=/dev/null bs="$0"M count=1 2>/dev/null; '
                 'done') + ' "$mb"',
    "disk write flood (O_DIRECT)":
        'target=$(sh -c "$FLOOD_TARGET"); [ -n "$target" ] || exit; ' +
        _bounded('while :; do dd if=/dev/zero of="$0" bs=1M count=8 oflag=direct '
                 '2>/dev/null; done') + ' "$target"',
    "console flood (its serial port)":
        _bounded("while :; do echo vmiso-neighbour-console-flood-0123456789abcdefghijklmn; "
                 "done > /dev/ttyS0"),
}


@dataclass
class Bout:
    load: str
    seconds: float  # the host's window: from before the guest's loop to after it
    guest_cpu_s: float
    neighbour_cpu_s: float
    host_cpu_s: float  # every CPU of the host was busy this long, both guests' included
    loops: int  # how far the guest's loop counted
    round_trip_s: float  # a command's SSH round trip into the guest, under the load
    skipped: str = ""  # why the load was not run

    def asked_s(self, alone):
        """The CPU the guest asked for in this bout: as large a share of its window as it used
        alone (its loop, and the SSH session around it)."""
        return min(1.0, alone.guest_cpu_s / alone.seconds) * self.seconds if alone.seconds else 0

    def starved(self, share, alone):
        """Whether the guest got less than `share` of what it asked, or of what its neighbour
        got where that is less (`alone`: the Bout of the guest alone)."""
        return self.guest_cpu_s < share * min(self.asked_s(alone), self.neighbour_cpu_s)

    @property
    def idle_neighbour(self):
        """Whether the neighbour used too little CPU for a load to have run."""
        return self.load != ALONE and self.neighbour_cpu_s < LEAST_LOAD * self.seconds

    def describe(self, alone=None):
        if self.skipped:
            return f"not run: {self.skipped}"
        pace = f"its loop counted {self.loops}"
        if alone is not None and alone.loops and self is not alone:
            pace += f" ({self.loops / alone.loops:.2f} of its pace alone)"
        rest = max(0.0, self.host_cpu_s - self.guest_cpu_s - self.neighbour_cpu_s)
        return (f"guest {self.guest_cpu_s:.2f} s of CPU, neighbour {self.neighbour_cpu_s:.2f} s, "
                f"the rest of the host {rest:.2f} s, in {self.seconds:.2f} s; {pace}; SSH "
                f"round trip {self.round_trip_s * 1000:.0f} ms")


def cpu_seconds(stat):
    """User and system CPU seconds of a process, all its threads, from /proc/PID/stat."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / USER_HZ


def host_busy_seconds(stat):
    """Seconds all CPUs of the host spent busy (user, nice, system, irq, softirq, steal), from
    the first line of /proc/stat."""
    fields = [int(f) for f in stat.split("\n", 1)[0].split()[1:]]
    return sum(fields[i] for i in (0, 1, 2, 5, 6, 7) if i < len(fields)) / USER_HZ


def loops_counted(stdout):
    """The count the guest's loop printed; ValueError where it printed none."""
    lines = stdout.split()
    if not lines or not lines[-1].isdigit():
        raise ValueError(f"the guest's timed loop printed no count: {stdout.strip()[:80]!r}")
    return int(lines[-1])


def load_command(load):
    """The shell command that starts `load` in the neighbour in a session of its own, and
    prints that session's id (its process group) for stop_command."""
    script = shlex.quote(f"FLOOD_TARGET={shlex.quote(FLOOD_TARGET)}; {LOADS[load]}")
    return f"setsid sh -c {script} </dev/null >/dev/null 2>&1 & echo $!"


def stop_command(session):
    """Every process of the load's session killed, and the flood's file removed."""
    return f"kill -KILL -{int(session)} 2>/dev/null; rm -f /var/tmp/vmiso-flood; true"


def contest(guest, sibling, guest_pid, sibling_pid, serial=True):
    """[Bout]: the guest alone, then with its neighbour (`sibling`) running each load in turn;
    `*_pid` are their QEMU processes', on the host guest.hypervisor reaches; without a `serial`
    port the console flood is not run."""
    def cpu():
        read = guest.hypervisor.read_text
        return (*(cpu_seconds(read(f"/proc/{pid}/stat")) for pid in (guest_pid, sibling_pid)),
                host_busy_seconds(read("/proc/stat")))

    bouts = [_bout(ALONE, guest, cpu)]
    for load in LOADS:
        if load.startswith("console") and not serial:
            bouts.append(Bout(load, 0, 0, 0, 0, 0, 0, skipped="the template gives its guests "
                                                              "no serial port"))
            continue
        session = sibling.run(load_command(load)).stdout.strip()
        if not session.isdigit():
            raise ValueError(f"the neighbour did not start its {load}: {session[:80]!r}")
        try:
            time.sleep(RAMP_S)
            bouts.append(_bout(load, guest, cpu))
        finally:
            sibling.run(stop_command(session))
    return bouts


def _bout(load, guest, cpu):
    started = time.monotonic()
    guest.run("true")
    round_trip = time.monotonic() - started
    before, started = cpu(), time.monotonic()
    printed = guest.run(LOOP).stdout
    seconds = time.monotonic() - started
    used = [after - earlier for after, earlier in zip(cpu(), before)]
    return Bout(load, seconds, *used, loops_counted(printed), round_trip)
