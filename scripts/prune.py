"""Prune vmiso's image cache on a host (helpers/vm/imagecache.py): copies unused for longer than
the age limit go, then the least recently used until the rest fit in the size limit; a copy used
within the last hour stays whatever the cache holds (a run may be booting guests on it).

    .venv/bin/python -m scripts.prune                                 # this machine's cache
    .venv/bin/python -m scripts.prune qemu+ssh://root@kvm1/system     # a remote host's
    .venv/bin/python -m scripts.prune --max-age-days 7 --max-gib 4

(`make prune [LIBVIRT_URI=...] [PRUNE_DAYS=...] [PRUNE_GIB=...]` runs it; every run that used
the cache prunes it with the default limits at its end.) Exit status: 0 when pruned (or nothing
was due), 3 when the host or its cache cannot be reached or used.
"""

import argparse
import math
import sys
import time

from helpers.host.errors import HypervisorError
from helpers.host.hypervisor import hypervisor_for
from helpers.plugin.options import EXIT_INFRASTRUCTURE
from helpers.vm.imagecache import DAY, GIB, LIMITS, Limits, prune

MIB = 2**20


def positive(text):
    """An argparse type: a finite number above zero."""
    try:
        number = float(text)
    except ValueError:
        number = 0
    if not 0 < number < math.inf:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number above 0, e.g. 7 or 2.5")
    return number


def amount(size):
    """Bytes for a reader: '3.4 GiB', '12.0 MiB'."""
    return f"{size / GIB:.1f} GiB" if size >= GIB else f"{size / MIB:.1f} MiB"


def main(argv=None, prog="vmiso prune"):
    parser = argparse.ArgumentParser(prog=prog,
                                     description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("uri", nargs="?", default="qemu:///system",
                        help="libvirt URI of the host, e.g. qemu+ssh://root@kvm1/system "
                             "(default: this machine)")
    parser.add_argument("--max-age-days", type=positive, default=LIMITS.max_age_s / DAY,
                        help="remove copies unused for longer (default %(default)g)")
    parser.add_argument("--max-gib", type=positive, default=LIMITS.max_bytes / GIB,
                        help="then the least recently used until the rest fit (default "
                             "%(default)g)")
    args = parser.parse_args(argv)
    limits = Limits(max_age_s=args.max_age_days * DAY, max_bytes=int(args.max_gib * GIB))
    try:
        hypervisor = hypervisor_for(args.uri)
        try:
            removed, kept = prune(hypervisor, limits)
        finally:
            hypervisor.close()
    except (HypervisorError, OSError) as err:
        fix = "" if isinstance(err, HypervisorError) else "; run it as the user vmiso runs as"
        print(f"vmiso: cannot prune the image cache at {args.uri}: {err}{fix}", file=sys.stderr)
        return EXIT_INFRASTRUCTURE
    for entry in removed:
        print(f"removed {entry.path} ({amount(entry.size)}, last used "
              f"{time.strftime('%Y-%m-%d', time.localtime(entry.used))})")
    print(f"{'pruned' if removed else 'nothing to prune'}: {amount(kept)} kept in "
          f"{hypervisor.image_cache} at {args.uri} (limits: {args.max_age_days:g} days unused, "
          f"{args.max_gib:g} GiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
