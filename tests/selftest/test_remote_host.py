"""Self-tests: the suite against a remote hypervisor, `qemu+ssh://root@127.0.0.1/system`.

The remote host is a lab's libvirtd behind an OpenSSH server in the lab's namespace
(tests/support/sshhost.py). The suite runs as a controller would: libvirt over SSH, host-side checks
through a testinfra host over SSH, overlays and seeds written on the host over SFTP, and guests
reached through direct-tcpip channels of the host's sshd. The controller cannot reach the guest
network any other way: a packet filter rejects whatever it sends there.

Every active probe runs there too: vmiso-canary listens on the host's addresses for the run and
captures at the guests' tap devices, and a BMC-like listener in the lab's management network is
named with --management-target. Verdicts must equal the local lab's, control for control.
"""

import os
import subprocess
import sys
from pathlib import Path

import libvirt
import pytest

from fixtures.lab import LIBVIRT_CACHE, STATE_DIR
from helpers.host.canaryagent import REMOTE_ROOT as CANARY_ROOT
from helpers.lab.lab import MGMT_ADDRESS, NETWORK, UPLINK_ADDRESS, Lab
from helpers.probes.network.listeners import Listeners
from helpers.verdict import catalog
from helpers.vm.target import REAL_HOST_WORKROOT
from tests.support.expected import expected_status
from tests.support.sshhost import RUNNER_GID, SshHost
from tests.support.suite import run_suite, suite, unlike

pytestmark = pytest.mark.slow

BMC_PORT = 443  # a BMC's web interface, in the lab's management network
# The leaky template opens a real host to others: it runs there only as accepted, its raw QEMU
# monitor (telnet on the host's loopback) booted as the lab boots it, its displays on loopback.
ACCEPTED = {"leaky": ("--accept-exposing-template", "--allow-raw-qemu")}


@pytest.fixture(scope="module", params=["hardened", "leaky"])
def remote_run(request, tmp_path_factory):
    template = request.param
    home = tmp_path_factory.mktemp(f"ssh-{template}")
    lab = Lab.start(STATE_DIR, LIBVIRT_CACHE / template, template)
    try:
        with SshHost.start(lab, home / "ssh") as remote, \
                Listeners(lab.mgmt_netns, [("tcp", MGMT_ADDRESS, BMC_PORT)]):
            proc, report = run_suite(home / "report", "suites", "--template", template,
                                     "--libvirt-uri", remote.uri, "--network", NETWORK,
                                     "--management-target", f"{MGMT_ADDRESS}:{BMC_PORT}",
                                     *ACCEPTED.get(template, ()), prefix=remote.runner_prefix)
            yield template, proc, report, remote, _left_on(lab, report)
    finally:
        lab.stop()


def _left_on(lab, report):
    """The run's domains still defined, its guest and canary folders and libvirt's logs of its
    guests still on the host, after the run."""
    conn = libvirt.open(lab.uri)
    try:
        domains = [d.name() for d in conn.listAllDomains()]
    finally:
        conn.close()
    run_id = report["run"]["guest"].split("-")[1]
    return (domains + [p.name for p in Path(REAL_HOST_WORKROOT).glob(f"vmiso-{run_id}-*")]
            + [str(p) for p in Path(CANARY_ROOT).glob(run_id)]
            + [str(p) for p in (lab.root / "log" / "libvirt" / "qemu").glob(f"vmiso-{run_id}-*")])


def test_a_remote_run_reports_every_control_of_that_host(remote_run):
    _, proc, report, remote, _ = remote_run
    assert {c["id"] for c in report["controls"]} == set(catalog.load()), proc.stdout[-2000:]
    assert {c["host"] for c in report["controls"]} == {report["host"]["name"]}
    assert report["host"]["uri"] == remote.uri
    assert report["run"]["guest_boot"] == "direct"  # the probe kernel copied to the host's cache


def test_remote_verdicts_equal_the_local_labs(remote_run):
    template, proc, report, _, _ = remote_run
    statuses = {c["id"]: c["status"] for c in report["controls"]}
    expected = {cid: expected_status(template, cid) for cid in statuses}
    assert statuses == expected, unlike(report, expected)
    assert not any(line.startswith("not checked") for line in proc.stdout.splitlines())


def test_displays_serve_the_remote_host_alone(remote_run):
    """On a real host the leaky template's VNC and SPICE on 0.0.0.0 listen on loopback in the
    guest that runs (the hardened one has no display to move), while MGT-01 still judges the
    template as written."""
    template, proc, report, _, _ = remote_run
    moved = [a for a in report["run"]["adaptations"] if "listen 0.0.0.0 -> 127.0.0.1" in a]
    assert len(moved) == {"hardened": 0, "leaky": 2}[template], report["run"]["adaptations"]
    mgt01 = next(c for c in report["controls"] if c["id"] == "MGT-01")
    live = [c for c in mgt01["checks"] if "running_domain_displays" in c["check"]]
    assert [c["verdict"] for c in live] == ["pass"], proc.stdout[-3000:]
    assert mgt01["status"] == expected_status(template, "MGT-01")


def test_host_side_checks_read_the_remote_host(remote_run):
    _, _, report, _, _ = remote_run
    observed = {c["id"]: " ".join(e["what"] + " " + str(e["observed"]) for e in c["evidence"])
                for c in report["controls"]}
    assert "QEMU pid" in observed["ESC-01"]  # /proc of the host, over SFTP
    assert "deb12" in observed["PAT-02"]  # dpkg on the host, over SSH
    assert "/etc/libvirt/libvirtd.conf" in observed["MGT-03"]  # the lab's, as the host sees it


def test_guests_are_reached_only_through_the_hypervisors_sshd(remote_run):
    _, _, _, remote, _ = remote_run
    forwarded = [line for line in remote.log().splitlines()
                 if "server_request_direct_tcpip" in line and "port 22" in line]
    assert forwarded, "no guest was reached through a direct-tcpip channel"
    before = remote.rejected_packets()
    _connect_as_controller(remote, UPLINK_ADDRESS)
    assert remote.rejected_packets() > before, \
        f"the controller (group {RUNNER_GID}) could reach the guest network directly"


def test_nothing_is_left_on_the_remote_host(remote_run):
    *_, left = remote_run
    assert left == []


def _connect_as_controller(remote, address):
    probe = (f"import socket\ntry:\n    socket.create_connection(({address!r}, 22), 1)\n"
             f"except OSError:\n    pass\n")
    subprocess.run([*remote.runner_prefix, sys.executable, "-c", probe], check=True, timeout=30)



NOBODY = 65534


def _victims(where):
    """Folders another user would have root's run change: one with a folder and a file in it
    (0755), one anyone may write to (1777, as /var/tmp is)."""
    first, second = where / "victim-tree", where / "victim-shared"
    (first / "kept").mkdir(parents=True)
    (first / "kept" / "file").write_text("untouched")
    first.chmod(0o755)
    second.mkdir()
    second.chmod(0o1777)
    return first, second


def _state(paths):
    """Type, owner, mode and entries of each path and what is under it, links not followed."""
    found = {}
    for top in paths:
        for path in [top, *sorted(top.rglob("*"))]:
            status = path.lstat()
            found[str(path)] = (status.st_mode, status.st_uid, status.st_gid,
                                path.read_bytes() if path.is_file() else None)
    return found


def _plant(var_tmp, victims, as_link):
    """/var/tmp/vmiso as a uid-nobody user makes it before any run: a link to the first
    victim, or a folder of theirs whose canary and images folders are links to the victims."""
    planted = var_tmp / "vmiso"
    if as_link:
        planted.symlink_to(victims[0])
    else:
        planted.mkdir(mode=0o755)
        os.chown(planted, NOBODY, NOBODY)
        for name, victim in zip(("canary", "images"), victims):
            (planted / name).symlink_to(victim)
            os.lchown(planted / name, NOBODY, NOBODY)
    os.lchown(planted, NOBODY, NOBODY)


@pytest.mark.parametrize("as_link", [True, False], ids=["link", "folder-of-links"])
def test_a_vmiso_folder_another_user_planted_is_refused_and_nothing_it_points_to_changes(
        as_link, tmp_path):
    var_tmp = tmp_path / "var-tmp"  # the host's /var/tmp, as its sshd and what it runs see it
    var_tmp.mkdir(mode=0o1777)
    var_tmp.chmod(0o1777)
    victims = _victims(tmp_path)
    _plant(var_tmp, victims, as_link)
    before = _state([*victims, var_tmp])
    lab = Lab.start(STATE_DIR, LIBVIRT_CACHE / "hardened", "hardened")
    try:
        with SshHost.start(lab, tmp_path / "ssh", overlays={"/var/tmp": var_tmp}) as remote:
            proc = suite("suites", "--template", "hardened", "--libvirt-uri", remote.uri,
                         "--network", NETWORK, "--control", "HV-01", "--report-dir",
                         str(tmp_path / "report"), "-q", prefix=remote.runner_prefix)
    finally:
        lab.stop()
    out = proc.stdout + proc.stderr
    assert proc.returncode == 3, out[-2000:]
    kind = "is a symbolic link" if as_link else "belongs to uid 65534"
    assert f"/var/tmp/vmiso on the host {kind}" in out and "remove /var/tmp/vmiso" in out, \
        out[-2000:]
    assert _state([*victims, var_tmp]) == before
