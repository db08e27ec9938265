"""A Debian OSV feed shaped as osv.dev publishes Debian/all.zip, at any size: for `make bench`
(60,000 records) and tests. Its records are made up; their shape is the real one: a DEBIAN-CVE
record per CVE with an affected entry per release (ECOSYSTEM range, the release's full list of
affected versions, the tracker's urgency), a quarter of them the kernel's with long version
lists, and DSA advisories naming their CVEs in `upstream`.

    python -m scripts.osvfeed 60000 Debian-all.zip
    python -m scripts.osvfeed measure Debian-all.zip INDEX_CACHE   # a run's feed work, timed
"""

import json
import random
import resource
import sys
import time
import zipfile

# what a run on a Debian 12 host asks: QEMU, libvirt, the host's kernel, the guest's kernel
RUN_QUERIES = (("qemu", "1:7.2+dfsg-7+deb12u18"), ("libvirt", "9.0.0-4+deb12u2"),
               ("linux", "6.1.158-1"), ("linux", "6.1.153-1"))

RELEASES = ("Debian:11", "Debian:12", "Debian:13")
URGENCIES = ("unimportant", "low", "medium", "high", "not yet assigned")
PACKAGES = ["linux"] * 25 + [f"lib{i}" for i in range(72)] + ["qemu", "libvirt", "xen"]


def versions(package, count):
    base = "6.1" if package == "linux" else "2.3"
    return [f"{base}.{n // 3}-{n % 3 + 1}" for n in range(count)]


def cve_record(rng, n):
    package = rng.choice(PACKAGES)
    cve = f"CVE-{2014 + n % 12}-{10000 + n}"
    count = rng.randint(40, 120) if package == "linux" else rng.randint(3, 20)
    affected = []
    for ecosystem in RELEASES:
        listed = versions(package, count)
        events = [{"introduced": "0"}]
        if rng.random() < 0.7:
            events.append({"fixed": f"{listed[-1]}+deb{ecosystem[-2:]}u1"})
        affected.append({
            "package": {"name": package, "ecosystem": ecosystem,
                        "purl": f"pkg:deb/debian/{package}?arch=source"},
            "ranges": [{"type": "ECOSYSTEM", "events": events}], "versions": listed,
            "ecosystem_specific": {"urgency": rng.choice(URGENCIES)},
            "database_specific": {"source": "https://storage.googleapis.com/cve-osv-conversion/"
                                            f"osv-output/DEBIAN-{cve}.json"}})
    return {"id": f"DEBIAN-{cve}", "summary": "", "modified": f"2026-11-{n % 28 + 1:02d}T10:00:00Z",
            "details": "A flaw was found in a component that lets a local attacker escalate. " * 2,
            "published": "2024-01-01T00:00:00Z", "upstream": [cve],
            "references": [{"type": "ADVISORY",
                            "url": f"https://security-tracker.debian.org/tracker/{cve}"}],
            "affected": affected, "schema_version": "1.7.3"}


def advisory(rng, n, cves):
    return {"id": f"DSA-{5000 + n}-1", "summary": "security update",
            "modified": "2026-11-20T10:00:00Z", "published": "2025-01-01T00:00:00Z",
            "upstream": cves, "affected": [{
                "package": {"name": rng.choice(PACKAGES), "ecosystem": "Debian:12",
                            "purl": "pkg:deb/debian/x?arch=source"},
                "ranges": [{"type": "ECOSYSTEM",
                            "events": [{"introduced": "0"}, {"fixed": "2.3.9-1+deb12u1"}]}]}],
            "schema_version": "1.7.3"}


def write(path, count, seed=19):
    rng = random.Random(seed)
    advisories = count // 20
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(count - advisories):
            record = cve_record(rng, n)
            archive.writestr(f"{record['id']}.json", json.dumps(record, indent=2))
        for n in range(advisories):
            record = advisory(rng, n, [f"CVE-{2014 + k % 12}-{10000 + k}" for k in (n, n + 1)])
            archive.writestr(f"{record['id']}.json", json.dumps(record, indent=2))


def measure(path, index_cache):
    """Load the feed (its index from index_cache where kept) and answer a run's queries: the
    seconds of each and this process's peak memory."""
    from helpers.patches import osv

    started = time.perf_counter()
    records = osv.load(path, index_cache)
    loaded = time.perf_counter()
    findings = sum(len(records.open_for(["Debian:12"], [package], version))
                   for package, version in RUN_QUERIES)
    done = time.perf_counter()
    return {"records": len(records), "findings": findings, "load_s": round(loaded - started, 2),
            "queries_s": round(done - loaded, 2), "total_s": round(done - started, 2),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


if __name__ == "__main__":
    if sys.argv[1] == "measure":
        print(json.dumps(measure(sys.argv[2], sys.argv[3])))
    else:
        write(sys.argv[2], int(sys.argv[1]))
