"""The hypervisor's host's own clock: what the mtimes of files there are compared with (leases,
the image cache's last use), whatever the controller's clock says.

    clock(hypervisor)   # 1796601600
"""


def clock(hypervisor):
    """The host's clock, in whole seconds since the epoch."""
    return int(hypervisor.run("date", "+%s"))
