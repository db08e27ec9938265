"""vmiso-canary (canary/vmiso-canary.c) on the hypervisor's host for the length of a run: what
of the run's guests' probes the host's IP stack received past its filters, captures at the
guests' tap devices, and the host's own reach of an address. It listens on no port: an outsider
sees the host answer as it did before the run, and every port stays free for the host's
services.

    agent = CanaryAgent.start(hypervisor, build(), "1a2b3c", tcp_ports=[22, 80], udp_ports=[161])
    agent.watch("10.216.0.120")                # report what arrives from this guest
    agent.capture("vnet0", mac="52:54:00:…")   # True once vnet0's frames of that MAC are reported
    agent.uncapture("vnet0")
    agent.leases                               # {'52:54:00:…': '10.216.0.120'}: DHCPACKs seen
    agent.connect("10.214.0.2", 623)           # 'connected', 'refused', 'timeout', ...
    agent.arrivals               # [Arrival('tcp', '10.213.0.1', 22, '10.216.0.120', '-')]
    agent.close()                              # stopped, and its folder removed

On a remote host the static binary is copied over SFTP into a folder of the run's own,
/var/tmp/vmiso/canary/<run id>, and runs as the URI's user; it exits when its SSH channel closes,
so a killed run leaves at most the folder, which the next run removes (`sweep`): a live run's
agent holds a lock on its binary. On this machine it runs from the build cache as a child whose
stdin pipe closes with the run. What the controller keeps of its reports is bounded
(MAX_EVENTS); past that the agent is `overflowed` and nothing it heard decides anything.
"""

import queue
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import PurePosixPath

from helpers import CHECKOUT
from helpers.host.errors import HypervisorError
from helpers.host.hostfolder import PASS_THROUGH, is_own_folder, own_folder
from helpers.local import command, interrupts, waits
from helpers.local.digest import sha256

SOURCE = CHECKOUT / "canary" / "vmiso-canary.c"
BUILD_DIR = CHECKOUT / ".cache" / "canary"
BINARY = "vmiso-canary"
REMOTE_ROOT = PurePosixPath("/var/tmp/vmiso/canary")
START_TIMEOUT = 15
REPLY_TIMEOUT = 10
BUILD_TIMEOUT = 300  # gcc -static of one small C file: seconds, minutes on a loaded machine
# Waiting for another thread's exchange with the agent (a heartbeat, a booting guest's capture):
# each ends within spawned.ANSWER_TIMEOUT and REPLY_TIMEOUT
QUEUE_S = 120
HEARTBEAT_S = 2  # `alive` to the agent; after 12 s of silence it exits (canary/vmiso-canary.c)
MAX_EVENTS = 100_000  # arrivals, and frames, kept of one agent


def build():
    """The static binary, compiled once per version of its source."""
    out = BUILD_DIR / sha256(SOURCE)[:16] / BINARY
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{BINARY}.{secrets.token_hex(4)}")  # workers build at once
        command.run("gcc", "-static", "-Os", "-Wall", "-o", str(partial), str(SOURCE),
                    error=HypervisorError, purpose="building vmiso-canary",
                    timeout=BUILD_TIMEOUT)
        partial.rename(out)
    return out


def sweep(hypervisor):
    """Remove the folders of agents no run holds any more (their run was killed); the folders
    removed."""
    if hypervisor.is_local or not is_own_folder(hypervisor, REMOTE_ROOT):
        return []  # absent, or not vmiso's: nothing in it is entered
    script = (f'for d in {REMOTE_ROOT}/*; do if [ -d "$d" ] && [ ! -L "$d" ]; then '
              f'flock -n "$d/{BINARY}" rm -rf -- "$d" && echo "$d"; fi; done; true')
    return hypervisor.run("sh", "-c", script).split()


@dataclass(frozen=True)
class Arrival:
    proto: str
    address: str  # the host's
    port: int
    peer: str
    text: str  # the token the packet carried, or "-" (a TCP SYN)


@dataclass(frozen=True)
class Frame:
    iface: str
    direction: str  # in: from the guest; out: to it
    proto: str  # tcp (a SYN or SYN-ACK), udp or arp (a request)
    src: str
    sport: int
    dst: str
    dport: int
    text: str


class CanaryAgent:
    def __init__(self, hypervisor, process, folder):
        self.hypervisor = hypervisor
        self.process = process
        self.folder = folder
        self.addresses = []  # the host's IPv4 addresses, loopback among them
        self.observing = {}  # tcp/udp -> True, or why arrivals cannot be seen
        self.arrivals = []
        self.frames = []
        self.overflowed = False
        self.captures = {}  # iface -> True, or why it cannot be captured
        self.watched = set()
        self.leases = {}  # MAC -> the IPv4 address a DHCPACK on a captured tap gave it
        self._ready = threading.Event()
        self._ended = threading.Event()
        self._replies = queue.Queue()
        self._unanswered = None  # a question that got no answer in time: later ones can't be
        # matched to their answers (a late one would be taken for the next question's)
        self._command_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._closing = threading.Event()
        self._reader = threading.Thread(target=self._read, name="vmiso-canary", daemon=True)
        self._reader.start()
        self._heart = threading.Thread(target=self._beat, name="vmiso-canary-alive", daemon=True)
        self._heart.start()

    def _beat(self):
        """`alive` every HEARTBEAT_S while the run holds the agent: an agent that hears nothing
        for a while knows its controller is gone, even where the link was cut without a word."""
        while not self._closing.wait(HEARTBEAT_S):
            try:
                self._send("alive")
            except (OSError, ValueError, HypervisorError):
                return  # the channel is closed, gone or stuck: the agent hears that too

    def _send(self, line):
        with waits.acquired(self._send_lock, QUEUE_S, "the canary agent's input",
                            HypervisorError):
            self.process.send(line)

    @classmethod
    def start(cls, hypervisor, binary, run_id, tcp_ports, udp_ports):
        folder = None if hypervisor.is_local else REMOTE_ROOT / run_id
        agent, made = None, False
        try:  # a Ctrl-C at any step, even while a remote command's answer is awaited,
            # still stops what was started: the command may have done its work already
            if folder is not None:
                _make_folder(hypervisor, folder)
                made = True
                _place(hypervisor, binary, folder)
            path = binary if folder is None else folder / BINARY
            lock = "-" if folder is None else str(path)
            process = hypervisor.spawn(str(path), lock, _ports(tcp_ports) or "0",
                                       _ports(udp_ports) or "0")
            agent = cls(hypervisor, process, folder)
            agent._wait_until_ready(path)
            return agent
        except BaseException as err:
            if agent is not None:
                agent.close()
            elif folder is not None and (made or not isinstance(err, HypervisorError)):
                # (a HypervisorError before `made`: mkdir refused, the folder is not ours)
                with interrupts.held():
                    hypervisor.remove_tree(folder)
            raise

    def _wait_until_ready(self, path):
        deadline = time.monotonic() + START_TIMEOUT
        while not (self._ready.is_set() or self._ended.is_set()) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        if not self._ready.is_set():
            reason = self.process.error_text().strip() or f"no answer in {START_TIMEOUT} s"
            raise HypervisorError(f"the canary agent {path} did not start on the hypervisor's "
                                  f"host: {reason}")

    def _read(self):
        for line in self.process.lines():
            if line.strip():
                self._take(*line.split())
        self._ended.set()

    def _take(self, kind, *fields):
        if kind == "address":
            self.addresses.append(fields[0])
        elif kind in ("observing", "noobserve"):
            self.observing[fields[0]] = kind == "observing" or " ".join(fields[1:])
        elif kind == "ready":
            self._ready.set()
        elif kind == "arrival" and len(fields) == 5:
            self._keep(self.arrivals, Arrival(fields[0], fields[1], int(fields[2]), *fields[3:]))
        elif kind == "lease" and len(fields) == 3:
            self.leases[fields[1]] = fields[2]
        elif kind == "frame" and len(fields) == 8:
            self._keep(self.frames, Frame(*fields[:4], int(fields[4]), fields[5],
                                          int(fields[6]), fields[7]))
        else:
            self._replies.put((kind, fields))

    def _keep(self, events, event):
        if len(events) < MAX_EVENTS:
            events.append(event)
        else:
            self.overflowed = True

    def _ask(self, line):
        with waits.acquired(self._command_lock, QUEUE_S, "the canary agent (another "
                            "thread's question to it)", HypervisorError):
            if self._unanswered is not None:
                raise HypervisorError(f"the canary agent cannot be asked `{line}`: it never "
                                      f"answered `{self._unanswered}`, so no later answer can "
                                      f"be matched to its question")
            try:
                self._send(line)
            except (OSError, ValueError) as err:
                raise HypervisorError(f"the canary agent cannot be told `{line}`: "
                                      f"{err}") from None
            try:
                return self._replies.get(timeout=REPLY_TIMEOUT)
            except queue.Empty:
                self._unanswered = line
                raise HypervisorError(f"the canary agent did not answer `{line}` within "
                                      f"{REPLY_TIMEOUT} s") from None

    def watch(self, address):
        """Report what arrives from `address` (a guest of the run) from now on."""
        if address not in self.watched:
            kind, _ = self._ask(f"watch {address}")
            if kind != "watching":
                raise HypervisorError(f"the canary agent cannot watch {address}")
            self.watched.add(address)

    def capture(self, iface, mac=None, prefix=None):
        """Start reporting `iface`'s frames from or to `mac`, or carrying a token that starts
        with `prefix` (once); True when they are reported."""
        if iface not in self.captures:
            kind, fields = self._ask(f"capture {iface} {mac or '-'} {prefix or '-'}")
            self.captures[iface] = True if kind == "capturing" else " ".join(fields[1:])
        return self.captures[iface] is True

    def uncapture(self, iface):
        """Stop a capture (its frames so far stay in `frames`)."""
        if self.captures.pop(iface, None) is True:
            self._ask(f"uncapture {iface}")

    def connect(self, address, port):
        """The host's own TCP reach of address:port."""
        _, fields = self._ask(f"connect {address} {port}")
        return fields[-1]

    def close(self):
        """Stop the agent and remove its folder; a Ctrl-C meanwhile waits until both are done."""
        with interrupts.held():
            try:
                self._closing.set()
                self.process.close()
                self._reader.join(timeout=5)
            finally:
                if self.folder is not None:
                    self.hypervisor.remove_tree(self.folder)
                    self.hypervisor.run("sh", "-c", f"rmdir {REMOTE_ROOT} 2>/dev/null; true")


def _ports(ports):
    return ",".join(str(p) for p in ports)


def _make_folder(hypervisor, folder):
    """`folder`, the run's own on the host (HypervisorError if it is there already), under
    parents only the URI's user can change (helpers/host/hostfolder.py)."""
    for parent in (REMOTE_ROOT.parent, REMOTE_ROOT):
        own_folder(hypervisor, parent, PASS_THROUGH)
    own_folder(hypervisor, folder, 0o700, new=True)


def _place(hypervisor, binary, folder):
    hypervisor.put(binary, folder / BINARY)
    hypervisor.run("chmod", "700", str(folder / BINARY))
