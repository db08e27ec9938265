"""Listening TCP sockets of a process's network namespace, from /proc/PID/net/tcp.

    tcp_listeners(1234)                                  # [('0.0.0.0', 16509)], this machine
    listening(hv.read_text("/proc/1234/net/tcp"))        # the same, read on any host
"""

import ipaddress
from pathlib import Path

TCP_LISTEN = "0A"  # the state column's value for LISTEN


def tcp_listeners(pid, include_loopback=False):
    """(address, port) of every IPv4 TCP socket listening in `pid`'s network namespace."""
    return listening(Path(f"/proc/{pid}/net/tcp").read_text(), include_loopback)


def listening(proc_net_tcp, include_loopback=False):
    """(address, port) of every listening socket in the text of a /proc/PID/net/tcp."""
    found = set()
    for line in proc_net_tcp.splitlines()[1:]:
        fields = line.split()
        address, port = fields[1].split(":")
        ip = ipaddress.ip_address(int.from_bytes(bytes.fromhex(address), "little"))
        if fields[3] == TCP_LISTEN and (include_loopback or not ip.is_loopback):
            found.add((str(ip), int(port, 16)))
    return sorted(found)
