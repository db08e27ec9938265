"""Labs the self-tests start for themselves (the suite starts its own for each run).

    with hardened_lab() as lab:
        SshHost.start(lab, folder)      # a remote host in the lab's namespaces
"""

import contextlib

from fixtures.lab import LIBVIRT_CACHE, STATE_DIR
from helpers.lab.lab import Lab


@contextlib.contextmanager
def hardened_lab():
    """A lab on the hardened host profile, stopped whatever the test did."""
    lab = Lab.start(STATE_DIR, LIBVIRT_CACHE / "hardened", "hardened")
    try:
        yield lab
    finally:
        lab.stop()
