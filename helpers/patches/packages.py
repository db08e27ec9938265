"""Installed packages judged by their distribution's OSV records: a guest's whole package set
(PAT-06) and the host's virtualization packages (PAT-07).

    listing = parse_listing(out)         # out: what LIST_COMMAND printed
    listing.manager                      # 'dpkg', 'rpm' or 'manifest' (the probe guest's)
    sources(listing.packages)            # [Source(names=('libvirt',), version='9.0.0-4', ...)]
    judge_packages(sources(...), dist, osv, floors, accepted_by)   # a versions.Judgement

Debian's and Ubuntu's feeds are keyed by source package, so binaries are judged by their source
(dpkg-query's source:Package and source:Version); a Debian signing template (linux-signed-amd64,
shim-signed, grub-efi-amd64-signed) by the package its Built-Using field names (linux, shim,
grub2), whose version the feed knows. Red Hat family feeds name binary rpms: both the binary
names and the source rpm's name are asked.
"""

import fnmatch
import re
from dataclasses import dataclass

from helpers.patches.listing import DPKG_FORMAT, MANIFEST, RPM_FORMAT
from helpers.patches.order import version_parser
from helpers.patches.versions import Judgement

# The host's virtualization packages PAT-07 judges (shell-style patterns of binary package
# names, Debian's and the Red Hat family's): libvirt's daemons, clients and bindings; QEMU and
# its image tools; the management front ends (virt-manager, virt-install, virt-viewer, Cockpit,
# libguestfs); what QEMU starts or loads for a guest (swtpm, virtiofsd, the SPICE server,
# usbredir, slirp, virglrenderer); the guest firmware (OVMF/edk2, SeaBIOS, iPXE); and the
# dnsmasq that libvirt's virtual networks run, which every guest talks to.
VIRTUALIZATION = (
    "libvirt*", "python3-libvirt", "qemu", "qemu-*", "qemu-kvm*", "qemu-img",
    "virt-manager", "virtinst", "virt-install", "virt-viewer", "virt-top", "virt-v2v",
    "libguestfs*", "guestfs-tools", "guestfish", "python3-guestfs",
    "cockpit", "cockpit-ws", "cockpit-bridge", "cockpit-machines",
    "swtpm*", "libtpms*", "virtiofsd",
    "libspice-server*", "spice-server", "libusbredir*", "usbredir*", "libslirp*",
    "libvirglrenderer*", "virglrenderer",
    "ovmf", "ovmf-ia32", "qemu-efi*", "edk2-*", "seabios", "ipxe-qemu*", "ipxe-roms-qemu",
    "dnsmasq", "dnsmasq-base",
)
SHOWN_PER_SOURCE = 5  # findings named per source package; the rest counted


class PackagesError(ValueError):
    """What vmiso cannot judge: the listing, the distribution or the feed; the message says
    what is missing."""


@dataclass(frozen=True)
class Installed:
    """An installed binary package and the source it was built from."""
    name: str
    version: str
    source: str
    source_version: str
    built_using: tuple = ()  # (package, version) of a signing template's Built-Using


@dataclass(frozen=True)
class Listing:
    manager: str  # dpkg, rpm or manifest
    packages: tuple


@dataclass(frozen=True)
class Source:
    """What the feed is asked about: the names its records may use, the version, and the
    installed binaries it stands for."""
    names: tuple
    version: str
    binaries: tuple

    def __str__(self):
        shown = ", ".join(self.binaries[:4]) + (f" and {len(self.binaries) - 4} more"
                                                if len(self.binaries) > 4 else "")
        return f"{self.names[0]} {self.version} ({shown})"


def parse_listing(text):
    """The Listing LIST_COMMAND printed; PackagesError where it names no package manager or
    lists nothing installed."""
    lines = text.splitlines()
    head = lines[0].strip() if lines else ""
    if head == "+ none":
        raise PackagesError("neither dpkg-query nor rpm is in $PATH and no vmiso package "
                            f"manifest ({MANIFEST}) is there: the installed packages cannot "
                            f"be listed")
    if head not in ("+ manifest", "+ dpkg", "+ rpm"):
        raise PackagesError(f"the package listing began with {head[:60]!r}, not with the "
                            f"manager's name")
    manager = head[2:]
    parse = parse_rpm if manager == "rpm" else parse_dpkg
    packages = parse("\n".join(lines[1:]))
    if not packages:
        raise PackagesError(f"{manager} lists no installed package")
    return Listing(manager, packages)


def host_listing(hypervisor, dist):
    """The installed packages on the hypervisor's host, listed with its distribution's
    package manager (dpkg-query -W, rpm -qa); PackagesError where that fails."""
    manager = dist.family.manager
    command, fmt = ("dpkg-query -W -f %s", DPKG_FORMAT) if manager == "dpkg" else \
        ("rpm -qa --qf %s", RPM_FORMAT)
    out = hypervisor.host.run(command, fmt)
    if out.rc != 0:
        raise PackagesError(f"`{command.split()[0]}` on the host exited {out.rc}: "
                            f"{out.stderr.strip()[-200:]}")
    packages = (parse_rpm if manager == "rpm" else parse_dpkg)(out.stdout)
    if not packages:
        raise PackagesError(f"{command.split()[0]} on the host lists no installed package")
    return Listing(manager, packages)


def parse_dpkg(text):
    """The installed packages of DPKG_FORMAT lines (dpkg-query -W); packages removed with
    their configuration kept (status c) or not installed (n) are left out."""
    packages = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 6:
            raise PackagesError(f"dpkg-query printed {line[:80]!r}, not the six fields asked")
        status, name, version, source, source_version, built_using = fields
        if len(status) < 2 or status[1] in "nc":
            continue
        packages.append(Installed(name, version, source or name, source_version or version,
                                  _built_using(built_using)))
    return tuple(packages)


def parse_rpm(text):
    """The installed packages of RPM_FORMAT lines (rpm -qa); a source rpm's name is its
    file name less -VERSION-RELEASE.src.rpm."""
    packages = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise PackagesError(f"rpm printed {line[:80]!r}, not the three fields asked")
        name, version, source_rpm = fields
        source = source_rpm.rsplit("-", 2)[0] if source_rpm.endswith(".src.rpm") and \
            source_rpm.count("-") >= 2 else name
        packages.append(Installed(name, version, source, version))
    return tuple(packages)


def _built_using(text):
    """[(package, version)] of a Built-Using field: 'linux (= 6.1.158-1), shim (= 15.8-1)'."""
    return tuple(re.findall(r"([a-z0-9][a-z0-9+.-]+)\s*\(\s*=\s*([^)\s]+)\s*\)", text))


def virtualization(packages, patterns=VIRTUALIZATION):
    """The packages whose names match the virtualization set."""
    return tuple(p for p in packages if any(fnmatch.fnmatchcase(p.name, pat) for pat in patterns))


def signing_template(source):
    """Whether a Debian source only signs binaries another source built (linux-signed-amd64,
    shim-signed, grub-efi-amd64-signed)."""
    return source.endswith("-signed") or "-signed-" in source


def sources(packages, manager="dpkg"):
    """The Sources to ask the feed about, one per (source, version), in name order."""
    grouped = {}
    for package in packages:
        if manager == "rpm":
            keys = [((package.source,), package.version)]
            names = (package.name,)
        elif signing_template(package.source) and package.built_using:
            keys = [((name,), version) for name, version in package.built_using]
            names = ()
        else:
            keys = [((package.source,), package.source_version)]
            names = ()
        for key in keys:
            entry = grouped.setdefault(key, ([], []))
            entry[0].extend(n for n in names if n not in entry[0] and n not in key[0])
            entry[1].append(package.name)
    return [Source(key[0] + tuple(extra), key[1], tuple(sorted(set(binaries))))
            for key, (extra, binaries) in sorted(grouped.items())]


def judge_packages(found, dist, osv, floors, accepted_by, what="packages"):
    """Each Source's open findings in the records of `dist`'s ecosystems, and the policy's
    floors ({source package: lowest version}, in the distribution's version order). A finding
    with a fix fails; one without, unless the triage policy `accepted_by` accepts it. A Source
    no record names has no known CVE in the feed. PackagesError where nothing can be judged:
    no distribution, no records for it, or none naming any of the packages."""
    if dist is None:
        raise PackagesError(f"the {what} belong to a distribution vmiso has no OSV ecosystem "
                            f"for (Debian, Ubuntu, Red Hat, Rocky Linux, AlmaLinux)")
    if not found:
        raise PackagesError(f"no {what} are installed to judge")
    ecosystems = osv.ecosystems(dist.matches)
    if not ecosystems:
        raise PackagesError(f"the OSV feed {osv.folder} has no records for {dist}; pass its "
                            f"distribution's feed with --osv (vmiso osv-update fetches one)")
    parse = version_parser(ecosystems[0])
    judgement = Judgement("pass")
    named = 0
    for source in found:
        floor = next((floors[n] for n in source.names if n in floors), None)
        if floor is not None and _below(parse, source, floor):
            judgement.status = "fail"
            judgement.reasons.append(f"{source} is below the policy floor {floor}")
        if not osv.covers(ecosystems, source.names):
            continue
        named += 1
        try:
            findings = osv.open_for(ecosystems, source.names, source.version)
        except ValueError as err:
            raise PackagesError(f"{source}: {err}") from None
        failing = []
        for finding in findings:
            reason = accepted_by.accepts(finding.triage) if finding.fixed is None else None
            if reason:
                judgement.accepted.append(f"{finding.label} in {source.names[0]} "
                                          f"{source.version} ({reason}, no fix)")
            else:
                failing.append(finding)
        if failing:
            judgement.status = "fail"
            judgement.reasons.append(_open(source, failing))
    if not named and not judgement.reasons:
        raise PackagesError(f"no record of {', '.join(ecosystems)} in the OSV feed "
                            f"{osv.folder} names any of the {len(found)} source packages of "
                            f"the {what}: it cannot be the distribution's feed; pass that with "
                            f"--osv (vmiso osv-update fetches one)")
    judgement.basis = (f"{len(found)} source packages of the {what} judged by the "
                       f"{', '.join(ecosystems)} records among {len(osv)} OSV records in "
                       f"{osv.folder}: {named} named by a record, {len(found) - named} by none "
                       f"(no CVE known to this feed)")
    return judgement


def _below(parse, source, floor):
    try:
        return parse(source.version) < parse(floor)
    except ValueError as err:
        raise PackagesError(f"the floor {floor!r} or the installed {source} cannot be "
                            f"compared in the distribution's version order: {err}") from None


def _open(source, findings):
    shown = []
    for finding in findings[:SHOWN_PER_SOURCE]:
        fix = f"fixed in {finding.fixed}" if finding.fixed else "no fix yet"
        triage = f", {finding.triage}" if finding.triage.rating or finding.triage.status else ""
        shown.append(f"{finding.label} ({fix}{triage})")
    more = len(findings) - SHOWN_PER_SOURCE
    return (f"{source}: {len(findings)} open: {'; '.join(shown)}"
            + (f" and {more} more" if more > 0 else ""))
