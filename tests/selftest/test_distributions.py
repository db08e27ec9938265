"""Self-tests: patch levels judged by the real vulnerability feeds of the distributions hypervisor
hosts run, fetched the way a user fetches them.

A loopback HTTP server serves saved feeds shaped as osv.dev's (tests/support/data/osv, zipped as
<Ecosystem>/all.zip); `make osv-update` fetches the Debian, Ubuntu and Rocky Linux ones into a
folder, beside loose records a user keeps there (a GIT-only record, an older copy of an id). Four
labs stand for four hosts, each behind its own sshd that answers /etc/os-release, dpkg-query or
rpm -q (and their listing of every package), and uname as its distribution would
(tests/support/distributions.py): Debian 12 up to date, the same host one kernel update behind,
Ubuntu 22.04 and Rocky Linux 9. One run checks PAT-01..03 and PAT-07 on all four, judged by that
folder.
"""

import contextlib
import functools
import http.server
import subprocess
import sys
import threading
import zipfile

import pytest

from fixtures.lab import LIBVIRT_CACHE, STATE_DIR
from helpers.lab.lab import NETWORK, Lab
from helpers.output import document
from helpers.patches import feed
from helpers.plugin.inputs import OSV_INDEX
from tests.support.distributions import DEBIAN_12, DEBIAN_12_BEHIND, ROCKY_9, UBUNTU_2204
from tests.support.sshhost import JUMP_ADDRESS, SshHost, controller
from tests.support.suite import ROOT, run_suite

SAVED = ROOT / "tests" / "support" / "data" / "osv"
FEEDS = {"Debian": "debian-12", "Ubuntu": "ubuntu-22.04", "Rocky Linux": "rocky-9"}
HOSTS = (DEBIAN_12, DEBIAN_12_BEHIND, UBUNTU_2204, ROCKY_9)
CONTROLS = "PAT-01,PAT-02,PAT-03,PAT-07"


@contextlib.contextmanager
def osv_dev(folder):
    """A loopback server holding <Ecosystem>/all.zip for each saved feed, as osv.dev does."""
    for ecosystem, saved in FEEDS.items():
        (folder / ecosystem).mkdir(parents=True)
        with zipfile.ZipFile(folder / ecosystem / "all.zip", "w", zipfile.ZIP_DEFLATED) as out:
            for record in sorted((SAVED / saved).glob("*.json")):
                out.write(record, record.name)
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def osv_update(url, dest, *ecosystems):
    options = [o for e in ecosystems for o in ("--ecosystem", e)]
    return subprocess.run([sys.executable, "-m", "scripts.osv_update", "--url", url, "--dest",
                           str(dest), *options], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def fetched(tmp_path_factory):
    home = tmp_path_factory.mktemp("feeds")
    with osv_dev(home / "osv.dev") as url:
        update = osv_update(url, home / "feeds", "Debian", "Ubuntu", "Rocky-Linux")
        missing = osv_update(url, home / "feeds", "AlmaLinux")
    (home / "feeds" / "loose").mkdir()
    for record in (SAVED / "loose").glob("*.json"):
        (home / "feeds" / "loose" / record.name).write_bytes(record.read_bytes())
    yield home / "feeds", update, missing
    for zipped in (home / "feeds").glob("*.zip"):  # their indexes in the project's cache
        feed._index_path(OSV_INDEX, zipped).unlink(missing_ok=True)


def test_osv_update_fetches_each_feed_whole(fetched):
    folder, update, missing = fetched
    assert update.returncode == 0, update.stderr
    assert sorted(p.name for p in folder.glob("*.zip")) == ["Debian.zip", "Rocky-Linux.zip",
                                                             "Ubuntu.zip"]
    assert "Debian.zip: 7 records of Debian, newest 2025-11-20" in update.stdout
    assert missing.returncode == 4 and missing.stderr.count("\n") == 1
    assert "cannot fetch http://127.0.0.1:" in missing.stderr and "AlmaLinux/all.zip" in \
        missing.stderr
    assert not list(folder.glob(".download-*")) and not (folder / "AlmaLinux.zip").exists()


@pytest.fixture(scope="module")
def distribution_run(fetched, tmp_path_factory):
    folder = fetched[0]
    home = tmp_path_factory.mktemp("distributions")
    policy = home / "policy.toml"  # the LTS kernels of Ubuntu 22.04 and Rocky 9 are 5.x
    policy.write_text((ROOT / "policies" / "default.toml").read_text().replace(
        '[host_kernel]\nfloor = "6.1.0"', '[host_kernel]\nfloor = "5.14.0"'))
    with contextlib.ExitStack() as stack:
        labs = []
        for _ in HOSTS:
            labs.append(Lab.start(STATE_DIR, LIBVIRT_CACHE / "hardened", "hardened"))
            stack.callback(labs[-1].stop)
        prefix, addresses = stack.enter_context(controller(labs))
        hosts = [stack.enter_context(SshHost.start(
            lab, home / lab.run_id, address, overlays=simulated.overlays(home / "hosts")))
            for lab, address, simulated in zip(labs, addresses, HOSTS)]
        for host in hosts:
            subprocess.run([*prefix, sys.executable, "-m", "scripts.nwfilter", host.uri,
                            "--keep", JUMP_ADDRESS], cwd=ROOT, check=True, timeout=60)
        uris = [o for host in hosts for o in ("--libvirt-uri", host.uri)]
        proc, report = run_suite(home / "report", "suites", "--template", "hardened", *uris,
                                 "--network", NETWORK, "--control", CONTROLS, "--osv",
                                 str(folder), "--policy", str(policy), "--max-parallel", "4",
                                 prefix=prefix)
        yield proc, report, {simulated.name: host.uri for simulated, host in zip(HOSTS, hosts)}


def rows(report, uri):
    return {c["id"]: c for c in report["controls"] if c["host"] == uri}


def evidence(row):
    return " ".join(f"{e.get('what', '')} {e.get('observed', '')}" for e in row["evidence"])


def test_each_host_is_judged_by_its_own_distribution(distribution_run):
    proc, report, uris = distribution_run
    document.validate(report)
    statuses = {name: {cid: row["status"] for cid, row in rows(report, uri).items()}
                for name, uri in uris.items()}
    assert statuses == {
        "debian-12": {"PAT-01": "pass", "PAT-02": "pass", "PAT-03": "pass", "PAT-07": "pass"},
        "debian-12-behind": {"PAT-01": "pass", "PAT-02": "pass", "PAT-03": "fail",
                             "PAT-07": "pass"},
        "ubuntu-22.04": {"PAT-01": "fail", "PAT-02": "pass", "PAT-03": "pass", "PAT-07": "fail"},
        "rocky-9": {"PAT-01": "pass", "PAT-02": "fail", "PAT-03": "pass", "PAT-07": "fail"},
    }, proc.stdout[-3000:]
    names = {h["uri"]: h["distribution"] for h in report["hosts"]}
    assert [names[uris[n]] for n in ("debian-12", "ubuntu-22.04", "rocky-9")] == [
        "Debian GNU/Linux 12 (bookworm)", "Ubuntu 22.04.5 LTS", "Rocky Linux 9.4 (Blue Onyx)"]


def test_unimportant_and_postponed_cves_are_reported_not_failed(distribution_run):
    _, report, uris = distribution_run
    kernel = evidence(rows(report, uris["debian-12"])["PAT-03"])
    assert "DEBIAN-CVE-2025-21709 (CVE-2025-21709) (rated unimportant, no fix)" in kernel
    assert "DEBIAN-CVE-2025-37925 (CVE-2025-37925) (status postponed, no fix)" in kernel
    assert "judged by the Debian:12 records" in kernel and "CVE-2025-38352" not in kernel


def test_one_fixed_version_behind_fails_naming_the_cve(distribution_run):
    _, report, uris = distribution_run
    kernel = evidence(rows(report, uris["debian-12-behind"])["PAT-03"])
    assert "DEBIAN-CVE-2025-38352 (CVE-2025-38352) open in host kernel 6.1.153-1, fixed in " \
           "6.1.158-1 (rated high)" in kernel


def test_a_repeated_id_keeps_the_newest_and_an_advisory_is_one_finding(distribution_run):
    """The loose older copy of DEBIAN-CVE-2024-2494 says fixed in +deb12u9: it would fail
    libvirt 9.0.0-4+deb12u2 if it were read instead of the feed's newer copy."""
    _, report, uris = distribution_run
    assert rows(report, uris["debian-12"])["PAT-02"]["status"] == "pass"
    run = report["cells"][0]["run"]["osv"]
    assert run["duplicates_dropped"] == 1 and run["skipped_without_package"] == 1


def test_rpm_and_ubuntu_builds_fail_on_the_fix_they_lack(distribution_run):
    _, report, uris = distribution_run
    rocky = evidence(rows(report, uris["rocky-9"])["PAT-02"])
    assert "RLSA-2025:9120 (CVE-2025-49797) open in libvirt 10.0.0-6.7.el9_4, fixed in " \
           "10.0.0-6.8.el9_4 (rated important)" in rocky
    assert "rpm libvirt-daemon" in rocky and "judged by the Rocky Linux:9 records" in rocky
    ubuntu = rows(report, uris["ubuntu-22.04"])
    assert "USN-7890-1 (CVE-2025-11234) open in QEMU 1:6.2+dfsg-2ubuntu6.22, fixed in " \
           "1:6.2+dfsg-2ubuntu6.26 (rated medium)" in evidence(ubuntu["PAT-01"])
    assert "UBUNTU-CVE-2024-26929 (CVE-2024-26929) (rated negligible, no fix)" in \
        evidence(ubuntu["PAT-03"])


def test_the_hosts_virtualization_packages_are_judged_by_source_from_the_listing(distribution_run):
    """PAT-07 lists every installed package (dpkg-query -W, rpm -qa) and judges the
    virtualization set by source package: Ubuntu's qemu and Rocky's libvirt lack a fix."""
    _, report, uris = distribution_run
    ubuntu = evidence(rows(report, uris["ubuntu-22.04"])["PAT-07"])
    assert "qemu 1:6.2+dfsg-2ubuntu6.22 (qemu-system-x86): 1 open: USN-7890-1 (CVE-2025-11234) " \
           "(fixed in 1:6.2+dfsg-2ubuntu6.26, rated medium)" in ubuntu
    rocky = evidence(rows(report, uris["rocky-9"])["PAT-07"])
    assert "libvirt 10.0.0-6.7.el9_4 (libvirt-daemon): 1 open: RLSA-2025:9120 (CVE-2025-49797) " \
           "(fixed in 10.0.0-6.8.el9_4, rated important)" in rocky and "(rpm -qa: " in rocky
    debian = evidence(rows(report, uris["debian-12"])["PAT-07"])
    assert "judged by the Debian:12 records" in debian and "2 named by a record" in debian


def test_the_report_names_the_feed_and_warns_that_it_is_old(distribution_run):
    proc, report, _ = distribution_run
    facts = report["cells"][0]["run"]["osv"]
    assert facts["date"] == "2025-11-20" and facts["records"] == 15
    assert "days old (newest record 2025-11-20; the policy allows 7)" in facts["warning"]
    assert "vmiso osv-update" in facts["warning"]
