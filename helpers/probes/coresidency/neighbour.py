"""A busy neighbour against the guest (DEV-09): the sibling runs one load at a time (a CPU hog on
every vCPU, a memory squeeze, a disk write flood, a console flood) while the guest spins a loop,
and the host reads the CPU time each guest's QEMU got meanwhile (both pinned to one core:
onecore.py).

    bouts, loops = contest(inside, beside, hypervisor, guest_pid, sibling_pid, share=0.5)
    [b.describe(bouts[0]) for b in bouts]        # the guest alone first, then each load
    [b.load for b in bouts[1:] if b.starved(0.5)]

The guest's loop spins through every bout, and one command in a shell kept open in the neighbour
ends a load and starts the next; the host reads a window in one command. So a bout costs one
round trip into the neighbour and one to the host, not a new SSH session into a loaded guest.
With its neighbour busy the guest must get its core (SATISFIED), or at least `share` of what its
neighbour got: a host that schedules each guest as a whole (a cgroup per guest) gives two busy
guests the same; one that schedules threads gives the guest with more vCPUs more.
"""

import shlex
import time
from dataclasses import dataclass

SETTLE_S = 0.1  # after its start, the guest's loop is spinning
WINDOW_S = 0.3  # how long the host reads the two guests' CPU, inside the guest's loop
LIFETIME_S = 30  # every load's session and the loop end by themselves after this, whatever
# becomes of vmiso
# a neighbour that got less than this share of what the guest got (or of the window, where the
# guest got more) ran no load, and the bout proves nothing
LEAST_LOAD = 0.3
SATISFIED = 0.9  # of the window: a guest that got this much of its core went short of nothing
# The CPU the two guests must have got between them, all windows of a bout together, before
# the bout shows how the host shares their core: a host busy with other work leaves them less of
# it in a window, and a bout reads windows until they have had this much (MOST_WINDOWS at most).
EVIDENCE_S = 0.2
MOST_WINDOWS = 5
ALONE = "none (the guest alone)"
LOOP_OUTPUT = "/tmp/vmiso-loop"
# How long a guest's shell waits for a load it started, or a loop it stopped, to say so: a busy
# host forks slowly. A bound only: the wait ends as soon as they have.
SAYS_WITHIN_S = 10
POLLS = f"$(seq {int(SAYS_WITHIN_S / 0.05)})"

SPIN = "while :; do :; done"
# The guest's loop, in a session of its own: it counts until stopped, writes how far it got, and
# prints its session's id for loop_stop.
LOOP_START = ("setsid sh -c " + shlex.quote(
    f'i=0; trap "echo \\$i > {LOOP_OUTPUT}; exit 0" TERM; (sleep {LIFETIME_S}; kill -TERM $$) & '
    'while :; do i=$((i+1)); done') + " </dev/null >/dev/null 2>&1 & echo $!")
# One window, read on the host in one command: both QEMUs' threads' run time (ns,
# /proc/PID/task/*/schedstat), the host's /proc/stat and its clock (/proc/uptime), WINDOW_S apart.
WINDOW = ('snap() { for p; do echo "== $p"; cat /proc/"$p"/task/*/schedstat 2>/dev/null; done; '
          'head -n 1 /proc/stat; echo "up $(cut -d " " -f 1 /proc/uptime)"; }; '
          f'snap "$@"; echo "--"; sleep {WINDOW_S}; snap "$@"')
USER_HZ = 100  # the unit of /proc/stat, fixed by the kernel's ABI
# A writable disk of the neighbour no filesystem is mounted from (the probe image runs from
# RAM), else a file on its root filesystem's disk; nothing where neither is.
FLOOD_TARGET = """root=$(awk '$2 == "/" {d = $1} END {print d}' /proc/mounts)
case "$root" in /dev/*) echo /var/tmp/vmiso-flood; exit;; esac
for dev in /sys/block/vd* /sys/block/sd*; do
  name=${dev##*/}
  [ -e "$dev/ro" ] && [ "$(cat "$dev/ro")" = 0 ] && [ "$(cat "$dev/size")" -ge 32768 ] || continue
  grep -q "^/dev/$name" /proc/mounts || { echo "/dev/$name"; exit; }
done"""


def _sh(command):
    return f"sh -c {shlex.quote(command)}"


# Each load starts its processes in the background, in the session load_command gives it (no
# `timeout`: coreutils' puts what it runs in a process group of its own, out of the session's).
LOADS = {
    "CPU hog on every vCPU":
        f'for i in $(seq "$(nproc)"); do {_sh(SPIN)} & done',
    "memory squeeze (70% of its free memory, touched again and again)":
        "mb=$(awk '/MemAvailable/ {print int($2 * 0.7 / 1024)}' /proc/meminfo); " +
        _sh('while :; do dd if=/dev/zero of=/dev/null bs="$0"M count=1 2>/dev/null; done') +
        ' "$mb" &',
    "disk write flood (O_DIRECT)":
        'target=$(sh -c "$FLOOD_TARGET"); if [ -n "$target" ]; then ' +
        _sh('while :; do dd if=/dev/zero of="$0" bs=1M count=8 oflag=direct 2>/dev/null; '
            'done') + ' "$target" & fi',
    "console flood (its serial port)":
        _sh("while :; do echo vmiso-neighbour-console-flood-0123456789abcdefghijklmn; done "
            "> /dev/ttyS0") + " &",
}
LOAD_STARTED = "/tmp/vmiso-load"


@dataclass
class Bout:
    load: str
    seconds: float  # the host's window, all of it inside the guest's loop
    guest_cpu_s: float
    neighbour_cpu_s: float
    host_cpu_s: float  # every CPU of the host was busy this long, both guests' included
    switch_s: float = 0.0  # ending the last load and starting this one, in the neighbour's shell
    skipped: str = ""  # why the load was not run
    windows: int = 1  # windows of this load, read one after another and judged as one

    def starved(self, share):
        """Whether the guest, asking for a core all through the window, went short of it and got
        less than `share` of what its neighbour got."""
        return self.guest_cpu_s < SATISFIED * self.seconds and \
            self.guest_cpu_s < share * self.neighbour_cpu_s

    def joined(self, later):
        """This bout and a `later` window of the same load, taken as one."""
        return Bout(self.load, self.seconds + later.seconds, self.guest_cpu_s + later.guest_cpu_s,
                    self.neighbour_cpu_s + later.neighbour_cpu_s,
                    self.host_cpu_s + later.host_cpu_s, self.switch_s,
                    windows=self.windows + later.windows)

    @property
    def informative(self):
        """Whether the two guests, both asking for the core, got EVIDENCE_S of CPU between
        them: enough of the scheduler's turns to show how the host shares the core."""
        return self.guest_cpu_s + self.neighbour_cpu_s >= EVIDENCE_S

    @property
    def idle_neighbour(self):
        """Whether the neighbour used too little CPU for a load to have run: on a host busy with
        other work both guests get little, so what the guest got is the measure."""
        return self.load != ALONE and \
            self.neighbour_cpu_s <= LEAST_LOAD * min(self.seconds, self.guest_cpu_s)

    def describe(self, alone=None):
        if self.skipped:
            return f"not run: {self.skipped}"
        rest = max(0.0, self.host_cpu_s - self.guest_cpu_s - self.neighbour_cpu_s)
        pace = f"its loop got {self.guest_cpu_s / self.seconds:.0%} of a core"
        if alone is not None and alone.seconds and self is not alone:
            pace += f" ({alone.guest_cpu_s / alone.seconds:.0%} alone)"
        windows = f" ({self.windows} windows)" if self.windows > 1 else ""
        started = f"; starting it in the neighbour took {self.switch_s * 1000:.0f} ms" \
            if self.load != ALONE else ""
        return (f"guest {self.guest_cpu_s:.3f} s of CPU, neighbour {self.neighbour_cpu_s:.3f} s, "
                f"the rest of the host {rest:.2f} s, in {self.seconds:.2f} s{windows}; "
                f"{pace}{started}")


def window(text, guest_pid, neighbour_pid):
    """(seconds, guest, neighbour, host) from WINDOW's output: the window's length on the host's
    clock, and the CPU seconds each QEMU (every thread) and the whole host got in it."""
    before, sep, after = text.partition("\n--\n")
    if not sep:
        raise ValueError(f"the host's window printed no second reading: {text.strip()[-80:]!r}")
    first, last = sample(before, guest_pid, neighbour_pid), sample(after, guest_pid,
                                                                     neighbour_pid)
    return tuple(b - a for a, b in zip(first, last))


def sample(text, guest_pid, neighbour_pid):
    """(uptime, guest, neighbour, host) seconds from one reading of WINDOW's: the host's clock,
    the run time of every thread of each QEMU, and the host's busy time (user, nice, system,
    irq, softirq, steal)."""
    run_ns, pid, busy, uptime = {}, None, None, None
    for line in text.splitlines():
        if line.startswith("== "):
            pid = int(line[3:])
            run_ns[pid] = 0
        elif line.startswith("cpu "):
            fields = [int(f) for f in line.split()[1:]]
            busy = sum(fields[i] for i in (0, 1, 2, 5, 6, 7) if i < len(fields)) / USER_HZ
        elif line.startswith("up "):
            uptime = float(line[3:])
        elif line.strip() and pid is not None:
            run_ns[pid] += int(line.split()[0])
    missing = [p for p in (guest_pid, neighbour_pid) if not run_ns.get(p)]
    if missing or busy is None or uptime is None:
        raise ValueError(f"the host showed no scheduler statistics for QEMU pid "
                         f"{', '.join(map(str, missing)) or '?'}, or no /proc/stat or "
                         f"/proc/uptime")
    return uptime, run_ns[guest_pid] / 1e9, run_ns[neighbour_pid] / 1e9, busy


def loops_counted(stdout):
    """The count the guest's loop wrote; ValueError where it wrote none."""
    lines = stdout.split()
    if not lines or not lines[-1].isdigit():
        raise ValueError(f"the guest's loop wrote no count: {stdout.strip()[:80]!r}")
    return int(lines[-1])


def load_command(load):
    """The shell command that starts `load` in the neighbour in a session of its own, waits
    until its processes are started (a busy host may take a while to fork them), and prints
    that session's id (its process group) for stop_command."""
    script = shlex.quote(f"FLOOD_TARGET={shlex.quote(FLOOD_TARGET)}; "
                         f"(sleep {LIFETIME_S}; kill -KILL 0) & {LOADS[load]}\n"
                         f"echo started > {LOAD_STARTED}; wait")
    return (f"rm -f {LOAD_STARTED}; setsid sh -c {script} </dev/null >/dev/null 2>&1 & "
            f"session=$!; for n in {POLLS}; do [ -s {LOAD_STARTED} ] && break; sleep 0.05; "
            f"done; echo $session")


def stop_command(session):
    """Every process of the load's session killed, and the load's files removed."""
    return (f"kill -KILL -{int(session)} 2>/dev/null; rm -f /var/tmp/vmiso-flood "
            f"{LOAD_STARTED}; true")


def loop_stop(session):
    """The guest's loop stopped, its count printed, and its session's timer killed."""
    session = int(session)
    return (f"kill -TERM {session}; for n in {POLLS}; do [ -s {LOOP_OUTPUT} ] && break; "
            f"sleep 0.05; done; cat {LOOP_OUTPUT}; rm -f {LOOP_OUTPUT}; "
            f"kill -KILL -{session} 2>/dev/null; true")


def contest(inside, beside, hypervisor, guest_pid, sibling_pid, share, serial=True):
    """([Bout], loops): the guest alone, then with its neighbour running each load in turn, and
    how far the guest's loop counted through them all. `inside` and `beside` are shells kept
    open in the guest and its neighbour (helpers/vm/shell.py), `*_pid` their QEMU processes' on
    `hypervisor`; without a `serial` port the console flood is not run. A window in which the
    host's other work left the two guests less than EVIDENCE_S of CPU between them is joined by
    the next (MOST_WINDOWS in all at most), the guest's alone as each load's. A guest starved
    below `share` is read once more: a dip of the host's other work passes, a host that
    schedules threads starves it again."""
    def read(load, switch_s=0.0):
        text = hypervisor.run("sh", "-c", WINDOW, "sh", str(guest_pid), str(sibling_pid))
        return Bout(load, *window(text, guest_pid, sibling_pid), switch_s)

    def enough(bout):
        while not bout.informative and bout.windows < MOST_WINDOWS:
            bout = bout.joined(read(bout.load))
        return bout

    loop = _started(inside, LOOP_START, "its loop")
    session, bouts = None, []
    try:
        time.sleep(SETTLE_S)
        bouts.append(enough(read(ALONE)))
        for load in LOADS:
            if load.startswith("console") and not serial:
                bouts.append(Bout(load, 0, 0, 0, 0, skipped="the template gives its guests no "
                                                             "serial port"))
                continue
            started = time.monotonic()
            switch = (stop_command(session) + "; ") if session else ""
            session = _started(beside, switch + load_command(load), f"its {load}")  # forked
            bout = enough(read(load, time.monotonic() - started))
            if bout.informative and bout.starved(share):
                bout = bout.joined(read(load))
            bouts.append(bout)
    finally:
        try:
            printed = inside.run(loop_stop(loop)).stdout
        finally:
            if session:
                beside.run(stop_command(session))
    return bouts, loops_counted(printed)


def _started(shell, command, what):
    session = shell.run(command).stdout.strip().splitlines()
    if not session or not session[-1].isdigit():
        raise ValueError(f"the guest at {shell.where} did not start {what}: {session[-1:]!r}")
    return session[-1]
