"""The escape drill's judgement of what its probe reported: never a verdict on a partial
identity or without the positive twin."""

import pytest

from helpers.probes.escape.escapedrill import EscapeDrill
from helpers.verdict.undecided import Undecided

IDENTITY = {"uid": "64055", "gid": "64055", "groups": "64055", "cap_eff": "0000000000000000",
            "label": "", "differs": [], "notes": []}
TWIN = {"path": "/g/a/disk.qcow2", "read": True, "head": "514649fb"}
ATTEMPTS = [{"what": "read the neighbour's disk", "path": "/g/b/disk.qcow2", "allowed": True,
             "how": "done"},
            {"what": "create a file", "path": "/etc", "allowed": False, "how": "EACCES"}]


def report(**changes):
    return {"identity": IDENTITY, "twin": TWIN, "victim_sockets": [], "attempts": ATTEMPTS,
            **changes}


def test_every_attempt_is_kept_with_its_outcome():
    drill = EscapeDrill.judge("A", "B", report())
    assert [(a.what, a.allowed, a.how) for a in drill.attempts] == [
        ("read the neighbour's disk", True, "done"), ("create a file", False, "EACCES")]
    assert drill.identity.startswith("uid 64055 gid 64055 groups 64055 CapEff 0")


@pytest.mark.parametrize("result, reason", [
    ({"error": "could not take QEMU pid 1's identity: setns: EPERM"}, "setns"),
    (report(identity={**IDENTITY, "differs": ["CapEff", "MAC label"]}), "CapEff, MAC label"),
    (report(twin={**TWIN, "read": False, "head": "", "error": "EACCES"}), "positive twin"),
])
def test_a_probe_that_did_not_hold_the_identity_decides_nothing(result, reason):
    with pytest.raises(Undecided, match=reason):
        EscapeDrill.judge(type("P", (), {"pid": 1})(), "B", result)


def test_cgroups_the_probe_could_not_join_are_said():
    identity = {**IDENTITY, "notes": ["cgroup cpu not mounted on the host"]}
    drill = EscapeDrill.judge("A", "B", report(identity=identity))
    assert drill.identity.endswith("(cgroup cpu not mounted on the host)")
