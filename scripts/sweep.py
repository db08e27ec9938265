"""Remove what dead vmiso runs left on a host, as every run's start does (helpers/vm/target.py):
their guests (domains whose run mark says the run is dead), the guests' folders under
/var/tmp/vmiso/guests, the folders of canary agents no run holds and lapsed leases.

    .venv/bin/python -m scripts.sweep qemu+ssh://root@kvm1/system
    .venv/bin/python -m scripts.sweep qemu:///system              # this machine's libvirt

(`make sweep LIBVIRT_URI=...` runs it.) A run is dead once its lease on the host lapsed, 10 minutes
after its controller last renewed it (helpers/vm/runlease.py), whichever machine sweeps; from the
controller that ran it, at once. A domain without a mark, or a live run's, is never touched.
Exit status: 0 when swept (or nothing was left), 3 when the host cannot be reached or used.
"""

import argparse
import secrets
import sys

import libvirt

from helpers.host.errors import HypervisorError
from helpers.plugin.options import EXIT_INFRASTRUCTURE
from helpers.vm.target import Target, TargetError


def main(argv=None, prog="vmiso sweep"):
    parser = argparse.ArgumentParser(prog=prog,
                                     description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("uri", help="libvirt URI of the host, e.g. qemu+ssh://root@kvm1/system")
    args = parser.parse_args(argv)
    try:
        target = Target.for_uri(args.uri, network=None,  # opening it sweeps
                                run_id=f"sweep-{secrets.token_hex(3)}")
    except (TargetError, HypervisorError) as err:
        print(f"vmiso: {err}", file=sys.stderr)
        return EXIT_INFRASTRUCTURE
    except libvirt.libvirtError as err:
        print(f"vmiso: cannot list the domains at {args.uri}: {err.get_error_message()}; check "
              f"that libvirtd runs there and its user may manage libvirt", file=sys.stderr)
        return EXIT_INFRASTRUCTURE
    target.close()
    for name in target.swept:
        print(f"swept {name} at {args.uri}")
    if not target.swept:
        print(f"nothing to sweep at {args.uri}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
