"""virt-host-validate beside a preflight: the facts both report about one host, side by side.

    ours, theirs = agreement(preflight_report, virt_host_validate_output)
    assert ours == theirs   # {'cgroup cpu': True, '/dev/vhost-net': False, ...}

virt-host-validate prints one line per check (`  QEMU: Checking for cgroup 'cpu' controller
support : PASS`); vmiso's report says the same facts in its run facts (the accelerator: KVM
only with the CPU's virtualization extensions) and the evidence of DEV-04 (the device nodes),
DEV-07 (the cgroup controllers) and DEV-08 (the IOMMU groups).
"""

import re

LINE = re.compile(r"^\s*QEMU: Checking (?:for |if )?(.+?)\s+: (PASS|WARN|FAIL)", re.M)
CGROUP = re.compile(r"cgroup '(\w+)' controller support")


def validate_facts(output):
    """{fact: True/False} from virt-host-validate qemu's lines."""
    facts = {}
    for check, result in LINE.findall(output):
        cgroup = CGROUP.match(check)
        if cgroup:
            facts[f"cgroup {cgroup.group(1)}"] = result == "PASS"
        elif check == "device /dev/vhost-net exists":
            facts["/dev/vhost-net"] = result == "PASS"
        elif check == "hardware virtualization":
            facts["hardware virtualization"] = result == "PASS"
        elif check == "IOMMU is enabled by kernel":
            facts["IOMMU groups"] = result == "PASS"
    return facts


def report_facts(report):
    """The same facts from a vmiso report's evidence."""
    evidence = [e for c in report["controls"] for e in c["evidence"]]
    accelerator = report["host"].get("accelerator")
    facts = {"hardware virtualization": accelerator == "kvm"} if accelerator else {}
    for e in evidence:
        if e["what"].startswith("cgroup controllers enabled and mounted"):
            listed = set(e["observed"].split(", "))
            for name in ("cpu", "cpuacct", "cpuset", "memory", "devices", "blkio"):
                facts[f"cgroup {name}"] = name in listed
        elif e["what"] == "/dev/vhost-net permissions":
            facts["/dev/vhost-net"] = e["observed"] != "absent"
        elif e["what"].startswith("the host's IOMMU"):
            facts["IOMMU groups"] = not e["observed"].startswith("0 IOMMU groups")
    return facts


def agreement(report, output):
    """(vmiso's facts, virt-host-validate's) over the facts both report."""
    ours, theirs = report_facts(report), validate_facts(output)
    shared = ours.keys() & theirs.keys()
    return {k: ours[k] for k in shared}, {k: theirs[k] for k in shared}
