"""Version comparison and the QEMU version policy (PAT-01).

    >>> Version.parse("7.2.22") < Version.parse("8.1.0")
    True
    >>> judge(Version.parse("7.2.22"), {"isa-fdc"}, Policy(Version.parse("7.2.0"), ()))
    Judgement(status='pass', ...)

The policies come from the policy file (helpers/policy/policyfile.py).
"""

import re
from dataclasses import dataclass, field
from functools import total_ordering


@total_ordering
@dataclass(frozen=True)
class Version:
    parts: tuple

    @classmethod
    def parse(cls, text):
        match = re.match(r"^\s*(\d+(?:\.\d+)*)", str(text))
        if not match:
            raise ValueError(f"{text!r} is not a version number")
        parts = tuple(int(p) for p in match.group(1).split("."))
        return cls(parts + (0,) * (3 - len(parts)))

    @property
    def series(self):
        return self.parts[:2]

    def __lt__(self, other):
        return self.parts < other.parts

    def __str__(self):
        return ".".join(str(p) for p in self.parts)


@dataclass(frozen=True)
class Cve:
    id: str
    fixed: Version
    stable: tuple
    devices: re.Pattern

    def fixed_in(self, version):
        if version >= self.fixed:
            return True
        return any(version.series == s.series and version >= s for s in self.stable)


@dataclass(frozen=True)
class Policy:
    floor: Version
    cves: tuple


@dataclass
class Judgement:
    status: str  # pass, fail or mitigated
    reasons: list = field(default_factory=list)
    basis: str = "upstream fix versions"  # what the CVEs were judged by
    accepted: list = field(default_factory=list)  # unfixed findings the triage policy accepts


def judge_build(version, build, dist, devices, policy, osv, accepted_by, name="QEMU"):
    """The policy floor on the upstream version; the CVEs from the distribution's OSV records
    when they cover `build` (a distro.Build, or None when unknown) on `dist`, else the
    policy's upstream CVE table, with a note saying so. `accepted_by`: the triage policy that
    decides which unfixed findings are reported without failing."""
    ecosystems = osv.ecosystems(dist.matches) if dist and build else []
    if not ecosystems or not osv.covers(ecosystems, build.packages):
        judgement = judge(version, devices, policy, name)
        what = "no distribution build known" if build is None or dist is None else \
            f"no OSV record covers {build.package} in {dist}"
        judgement.basis = f"{what}: judged by upstream fix versions"
        return judgement
    judgement = judge(version, devices, Policy(policy.floor, ()), name)
    patterns = {c.id: c.devices for c in policy.cves}
    for finding in osv.open_for(ecosystems, build.packages, build.version):
        reason = accepted_by.accepts(finding.triage) if finding.fixed is None else None
        if reason:
            judgement.accepted.append(f"{finding.label} ({reason}, no fix)")
        else:
            _open_record(judgement, finding, devices, patterns, build, name)
    judgement.basis = (f"{build.package} {build.version} ({build.source}) judged by the "
                       f"{', '.join(ecosystems)} records among {len(osv)} OSV records in "
                       f"{osv.folder}")
    return judgement


def _open_record(judgement, finding, devices, patterns, build, name):
    cves = [a for a in (finding.id,) + finding.ids + finding.cves if a in patterns]
    pattern = patterns[cves[0]] if cves else None
    present = sorted(d for d in devices if pattern and pattern.pattern and pattern.search(d))
    fix = f", fixed in {finding.fixed}" if finding.fixed else ", no fix yet"
    triage = f" ({finding.triage})" if finding.triage.rating or finding.triage.status else ""
    label = f"{finding.label} open in {name} {build.version}{fix}{triage}"
    if pattern is not None and pattern.pattern and not present:
        judgement.reasons.append(f"{label}, its device is absent")
        judgement.status = "mitigated" if judgement.status == "pass" else judgement.status
    else:
        judgement.reasons.append(label + (f" and its device {', '.join(present)} is present"
                                          if present else ""))
        judgement.status = "fail"


def judge(version, devices, policy, name="QEMU"):
    """Below the floor fails; an open CVE fails with its device present (or when it has no
    device), and is mitigated when its device is absent."""
    reasons, status = [], "pass"
    if version < policy.floor:
        status = "fail"
        reasons.append(f"{name} {version} is below the policy floor {policy.floor}")
    for cve in policy.cves:
        if cve.fixed_in(version):
            continue
        present = sorted(d for d in devices if cve.devices.search(d))
        if not cve.devices.pattern:
            status = "fail"
            reasons.append(f"{cve.id} open in {version}")
        elif present:
            status = "fail"
            reasons.append(f"{cve.id} open in {version} and its device {', '.join(present)} "
                           f"is present")
        else:
            status = "mitigated" if status == "pass" else status
            reasons.append(f"{cve.id} open in {version}, its device is absent")
    return Judgement(status, reasons)
