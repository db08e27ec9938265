#!/usr/bin/env python3
"""Fetch the current OSV feeds of the hosts' distributions, as osv.dev publishes them (one zip per
ecosystem), and index them for the next run.

    make osv-update                                   # this machine's distribution
    make osv-update LIBVIRT_URI='qemu+ssh://root@kvm1/system qemu+ssh://root@kvm2/system'
    make osv-update ECOSYSTEM='Debian Rocky-Linux'    # named outright (no host asked)

Each feed lands whole in osv/feeds/<Ecosystem>.zip (a download that fails or is not a zip of
records leaves the previous feed in place), which runs then read by default. Exit status: 0 when
every feed was fetched, 4 when one could not be.
"""

import argparse
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from helpers.patches import distro, osv
from helpers.plugin.inputs import OSV_FETCHED, OSV_INDEX

OSV_URL = "https://osv-vulnerabilities.storage.googleapis.com"
# osv.dev publishes a zip per base ecosystem, every release in it
ECOSYSTEMS = {"debian": "Debian", "ubuntu": "Ubuntu", "rhel": "Red Hat", "rocky": "Rocky Linux",
              "almalinux": "AlmaLinux"}
EXIT_FAILED = 4
TIMEOUT = 300


class UpdateError(Exception):
    """A feed could not be fetched; the message says which and why."""


def main(argv=None, prog="vmiso osv-update"):
    parser = argparse.ArgumentParser(prog=prog,
                                     description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--ecosystem", action="append", default=[],
                        help=f"an OSV ecosystem to fetch ({', '.join(ECOSYSTEMS.values())})")
    parser.add_argument("--libvirt-uri", action="append", default=[],
                        help="a host whose distribution's feed to fetch (its /etc/os-release)")
    parser.add_argument("--url", default=OSV_URL, help=f"where the feeds are (default {OSV_URL})")
    parser.add_argument("--dest", type=Path, default=OSV_FETCHED)
    args = parser.parse_args(argv)
    try:
        wanted = ecosystems(args.ecosystem, args.libvirt_uri)
        for ecosystem in wanted:
            fetched = fetch(args.url, ecosystem, args.dest)
            records = osv.load(fetched, OSV_INDEX)  # the index made at download: no re-read
            date = records.date.strftime("%Y-%m-%d") if records.date else "no date"
            print(f"{fetched}: {len(records)} records of {ecosystem}, newest {date}")
    except (UpdateError, osv.OsvError) as err:
        print(f"vmiso osv-update: {err}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def ecosystems(named, uris):
    """The ecosystems to fetch: those named, else those of the hosts' distributions, else this
    machine's."""
    named = [e.replace("-", " ") for e in named]  # Rocky-Linux: make splits at spaces
    unknown = [e for e in named if e not in ECOSYSTEMS.values()]
    if unknown:
        raise UpdateError(f"unknown ecosystem {unknown[0]!r}; name one of "
                          f"{', '.join(ECOSYSTEMS.values())}")
    if named:
        return list(dict.fromkeys(named))
    texts = [_host_os_release(uri) for uri in uris] or [Path("/etc/os-release").read_text()]
    found = []
    for text in texts:
        dist = distro.distribution(text)
        if dist is None:
            raise UpdateError("a host runs a distribution vmiso has no OSV feed for (Debian, "
                              "Ubuntu, Red Hat, Rocky Linux, AlmaLinux); name the feed with "
                              "--ecosystem")
        found.append(ECOSYSTEMS[dist.id])
    return list(dict.fromkeys(found))


def _host_os_release(uri):
    from helpers.host import hypervisor  # paramiko: only when a host is asked

    try:
        host = hypervisor.hypervisor_for(uri)
    except hypervisor.HypervisorError as err:
        raise UpdateError(str(err)) from None
    try:
        return host.read_text("/etc/os-release")
    except (OSError, hypervisor.HypervisorError) as err:
        raise UpdateError(f"cannot read /etc/os-release on {uri}: {err}") from None
    finally:
        host.close()


def fetch(base, ecosystem, dest):
    """Download <base>/<ecosystem>/all.zip to dest/<Ecosystem>.zip, whole or not at all."""
    url = f"{base.rstrip('/')}/{urllib.parse.quote(ecosystem)}/all.zip"
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / f"{ecosystem.replace(' ', '-')}.zip"
    with tempfile.NamedTemporaryFile(dir=dest, prefix=".download-", suffix=".zip",
                                     delete=False) as part:
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
                shutil.copyfileobj(response, part)
        except (urllib.error.URLError, OSError) as err:
            Path(part.name).unlink(missing_ok=True)
            raise UpdateError(f"cannot fetch {url}: {getattr(err, 'reason', err)}; the "
                              f"previous feed (if any) stays in {dest}") from None
    try:  # indexed where it lies: the index follows the file when it is renamed into place
        osv.load(Path(part.name), OSV_INDEX)
    except osv.OsvError as err:
        Path(part.name).unlink(missing_ok=True)
        raise UpdateError(f"{url} is not a zip of OSV records ({err}); the previous feed (if "
                          f"any) stays in {dest}") from None
    Path(part.name).replace(target)
    return target


if __name__ == "__main__":
    sys.exit(main())
