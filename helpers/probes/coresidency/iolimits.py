"""The I/O limits QEMU enforces on a running guest's disks (<iotune>, applied by QEMU's block
throttling and read back live through libvirt).

    io_limits(guest.domain, guest.live.writable_disks)
    # {'vda': {'total_bytes_sec': 104857600, 'total_iops_sec': 2000}, 'vdb': {}}
"""

import libvirt

from helpers.verdict.undecided import Undecided

LIMITS = ("total_bytes_sec", "read_bytes_sec", "write_bytes_sec", "total_iops_sec",
          "read_iops_sec", "write_iops_sec")


def io_limits(domain, disks):
    """{target dev: its non-zero limits} for each disk, as QEMU enforces them now."""
    found = {}
    for dev in disks:
        try:
            tune = domain.blockIoTune(dev, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        except libvirt.libvirtError as err:
            raise Undecided(f"libvirt could not read disk {dev}'s I/O limits: {err}") from None
        found[dev] = {k: tune[k] for k in LIMITS if tune.get(k)}
    return found
