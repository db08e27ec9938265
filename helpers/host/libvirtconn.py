"""A libvirt connection that cannot wait forever on a daemon or a link that went away.

    conn = libvirtconn.open_connection("qemu+ssh://root@kvm1/system")

libvirt's client awaits each answer without a timeout of its own. With keepalive on (virsh's own
settings: a probe after KEEPALIVE_INTERVAL_S of silence, the connection closed after
KEEPALIVE_COUNT probes unanswered), every call on a connection whose daemon stopped or whose link
broke fails within 35 s, as libvirt's own "connection closed" error. Keepalive needs libvirt's
event loop: it runs in a daemon thread, started with the first connection. Opening is bounded by
OPEN_TIMEOUT_S. A daemon that lives but leaves one call unanswered (QEMU's monitor hangs) is
bounded where that call is made (helpers/host/qmp.py).
"""

import functools
import threading

import libvirt

from helpers.host.errors import HypervisorError
from helpers.local import waits

OPEN_TIMEOUT_S = 120  # libvirt through SSH to a loaded host answers within seconds
KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT = 5, 6
_LOOP_LOCK = threading.Lock()
_loop = []  # the event loop's thread, once started


def open_connection(uri):
    """A connection to `uri`, keepalive on where the driver has it (a driver in this process,
    test:///, has no daemon to lose); libvirt.libvirtError as libvirt raised it, HypervisorError
    when libvirt did not answer within OPEN_TIMEOUT_S."""
    _start_event_loop()
    conn = waits.within(functools.partial(libvirt.open, uri), OPEN_TIMEOUT_S,
                        f"opening libvirt at {uri}", HypervisorError)
    try:
        conn.setKeepAlive(KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT)
    except libvirt.libvirtError as err:
        if err.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
            conn.close()
            raise
    return conn


def _start_event_loop():
    with waits.acquired(_LOOP_LOCK, OPEN_TIMEOUT_S, "libvirt's event loop to start",
                        HypervisorError):
        if not _loop:
            libvirt.virEventRegisterDefaultImpl()
            _loop.append(threading.Thread(target=_run_events, name="vmiso-libvirt-events",
                                          daemon=True))
            _loop[0].start()


def _run_events():
    while True:  # for the run's life: each turn waits for libvirt's next event or timer
        libvirt.virEventRunDefaultImpl()
