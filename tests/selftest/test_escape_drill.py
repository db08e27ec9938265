"""Self-tests: the escape drill (ESC-08) passes where each guest runs under a DAC label of its own
with its disk private to it, and names the one way in that a loose file mode opens.

Its failure under qemu.conf's one user, where the neighbour's disk and memory are open to an
escaped guest, is read from the hardened conformance run (test_conformance_runs.py).
"""

import os

import pytest

from guest import build as probe_guest
from helpers.probes.escape.escapedrill import EscapeDrill
from helpers.template.domxml import Domain
from helpers.vm.image import GuestImage
from helpers.vm.launch import launch
from helpers.vm.target import Target
from tests.support.daclabels import DRILL_ATTACKER_UID, DRILL_VICTIM_UID, QEMU_GROUP, with_label
from tests.support.labs import hardened_lab
from tests.support.suite import ROOT

HARDENED = (ROOT / "templates" / "hardened.xml").read_text()


def labelled(uid):
    """The hardened template under a static DAC label of uid's own."""
    return Domain.from_string(with_label(HARDENED, uid))


@pytest.fixture(scope="module")
def neighbours():
    """Two guests of the lab, each under a uid of its own."""
    image = GuestImage.probe(probe_guest.build(probe_guest.DEFAULT_CACHE))
    with hardened_lab() as lab:
        target = Target.for_lab(lab)
        try:
            with launch(target, labelled(DRILL_ATTACKER_UID), image, "tcg") as attacker, \
                    launch(target, labelled(DRILL_VICTIM_UID), image, "tcg") as victim:
                yield target, attacker, victim
        finally:
            target.close()


def test_guests_under_labels_of_their_own_refuse_every_attempt(neighbours):
    drill = EscapeDrill.run(*neighbours)
    assert drill.identity.startswith(f"uid {DRILL_ATTACKER_UID} gid {QEMU_GROUP}"), \
        drill.identity
    assert "read its own disk" in drill.twin
    tried = {a.what for a in drill.attempts}
    assert {"read the neighbour's disk", "open the neighbour's disk for writing",
            "read the neighbour's memory (ptrace attach check)",
            "connect to the neighbour's QEMU socket", "connect to libvirtd's socket",
            "create a file"} <= tried
    assert [a for a in drill.attempts if a.allowed] == []


def test_a_neighbour_disk_left_readable_to_all_is_named(neighbours):
    target, attacker, victim = neighbours
    os.chmod(victim.overlay, 0o644)
    try:
        drill = EscapeDrill.run(target, attacker, victim)
    finally:
        os.chmod(victim.overlay, 0o600)
    allowed = [(a.what, a.path) for a in drill.attempts if a.allowed]
    assert allowed == [("read the neighbour's disk", str(victim.overlay))]
