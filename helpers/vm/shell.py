"""One shell kept open in a guest: each command a round trip over the open SSH channel, not a
new session (and, on a cloud image, not a new sudo). A guest under load answers that in a
fraction of the time a new session takes (a Debian cloud guest sharing a core: seconds).

    with guest.shell() as shell:           # helpers/vm/launch.py opens the channel
        shell.run("nproc").stdout          # '2\n'

Each command runs with stdin from /dev/null (the shell reads its commands from the channel) and
its stderr in its stdout; a random marker after it carries its exit status. A command that does
not finish within `timeout`, or a shell that ends, raises error(message).
"""

import secrets
import socket
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Done:
    rc: int
    stdout: str


class Shell:
    COMMAND = "exec /bin/sh"  # what the channel runs (through sudo for a login user not root)

    def __init__(self, chan, where, timeout, error):
        self.chan, self.where, self.timeout, self.error = chan, where, timeout, error

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.chan.close()

    def run(self, command):
        """Done(rc, stdout) of `command`, run by the open shell."""
        marker = secrets.token_hex(8)
        self.chan.sendall(f"{{ {command}\n}} </dev/null 2>&1; printf '\\n{marker} %d\\n' $?\n"
                          .encode())
        said = f"`{command[:80]}` in a shell on {self.where}"
        deadline, seen = time.monotonic() + self.timeout, b""
        while (done := parse(seen, marker.encode())) is None:
            self.chan.settimeout(max(0.0, deadline - time.monotonic()))
            try:
                data = self.chan.recv(65536)
            except socket.timeout:
                raise self.error(f"{said} did not finish within {self.timeout:g}s") from None
            if not data:
                raise self.error(f"{said}: the shell ended")
            seen += data
        return done


def parse(seen, marker):
    """Done from what the shell printed for one command, None until its marker line is whole."""
    before, found, after = seen.partition(b"\n" + marker + b" ")
    if not found or not after.endswith(b"\n"):
        return None
    return Done(int(after.split()[0]), before.decode(errors="replace"))
