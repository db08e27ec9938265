"""Who polkit lets drive VMs, read from its rules as text."""

from helpers.hostconfig.socketaccess import rule_grants

DEBIAN = """// Allow any user in the 'libvirt' group to connect to system libvirtd
polkit.addRule(function(action, subject) {
    if (action.id == "org.libvirt.unix.manage" &&
        subject.isInGroup("libvirt")) {
        return polkit.Result.YES;
    }
});
"""

EVERYONE = """polkit.addRule(function(action, subject) {
    if (action.id == "org.libvirt.unix.manage") {
        return polkit.Result.YES;
    }
});
"""

OTHER_ACTION = """polkit.addRule(function(action, subject) {
    if (action.id == "org.freedesktop.login1.reboot") { return polkit.Result.YES; }
});
"""


def test_debians_rule_grants_the_libvirt_group():
    assert rule_grants(DEBIAN) == ["group libvirt"]


def test_a_rule_without_a_subject_test_grants_every_local_user():
    assert rule_grants(EVERYONE) == ["every local user"]


def test_rules_for_other_actions_or_refusals_grant_nothing():
    assert rule_grants(OTHER_ACTION) == []
    assert rule_grants(DEBIAN.replace("Result.YES", "Result.NO")) == []


def test_each_block_is_judged_alone():
    both = OTHER_ACTION + DEBIAN + "polkit.addRule(function(action, subject) {\n" \
        "  if (action.id == 'org.libvirt.unix.manage' && subject.user == 'ops')\n" \
        "    return polkit.Result.YES;\n});\n"
    assert rule_grants(both) == ["group libvirt", "user ops"]
