"""A Ctrl-C after each remote step of the canary agent's start and close, on a real host: what each
left behind, one JSON line per step.

    python -m tests.support.interrupt_agent 'qemu+ssh://root@127.0.0.1/system?…'
    {"step": 4, "after": "mkdir -m 700 /var/tmp/vmiso/canary/…", "interrupted": true, "left": []}

The signal is a real SIGINT to this process, sent the moment a step's remote command has
answered: as a user's Ctrl-C that lands while vmiso awaits the answer. It ends when a start and
close ran through without a step left to interrupt.
"""

import json
import os
import signal
import sys
import time
from pathlib import Path

from helpers.host import canaryagent
from helpers.host.canaryagent import BINARY, REMOTE_ROOT, CanaryAgent
from helpers.host.hypervisor import hypervisor_for

STEPS = ("run", "put", "spawn")  # remove_tree is a run


def interrupted_at(step, hypervisor):
    """Wrap the hypervisor's remote operations: the `step`th one is followed by a SIGINT;
    the names of the operations made, in order."""
    made = []

    def wrapped(name, call):
        def operation(*args):
            result = call(*args)
            made.append(f"{name} {' '.join(map(str, args))}")
            if len(made) == step:
                os.kill(os.getpid(), signal.SIGINT)
            return result
        return operation

    for name in STEPS:
        setattr(hypervisor, name, wrapped(name, getattr(hypervisor, name)))
    return made


def left_behind():
    folders = sorted(str(p) for p in Path(REMOTE_ROOT).glob("*")) \
        if Path(REMOTE_ROOT).is_dir() else []
    for _ in range(50):  # the agent exits once its SSH channel is closed
        if not agent_pids():
            break
        time.sleep(0.1)
    return folders + [f"pid {pid}" for pid in agent_pids()]


def agent_pids():
    """The canary agents running from a folder under REMOTE_ROOT (not a command that merely
    names one, as mkdir or the sweep)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            program = (entry / "cmdline").read_bytes().split(b"\0")[0].decode()
        except (OSError, UnicodeDecodeError):
            continue
        if program.startswith(f"{REMOTE_ROOT}/") and program.endswith(f"/{BINARY}"):
            found.append(int(entry.name))
    return found


def main(uri):
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even where the caller ignores it
    binary = canaryagent.build()
    step = 1
    while True:
        hypervisor = hypervisor_for(uri)
        made = interrupted_at(step, hypervisor)
        interrupted = False
        try:
            CanaryAgent.start(hypervisor, binary, f"interrupt-{step}", [], []).close()
        except KeyboardInterrupt:
            interrupted = True
        finally:
            hypervisor.close()
        after = made[step - 1] if len(made) >= step else None
        print(json.dumps({"step": step, "after": after, "interrupted": interrupted,
                          "left": left_behind()}), flush=True)
        if after is None:
            return
        step += 1


if __name__ == "__main__":
    main(sys.argv[1])
