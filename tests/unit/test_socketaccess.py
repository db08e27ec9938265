"""Who polkit lets drive VMs, read from its rules as text; only a missing file grants
nothing, an unreadable or unparsable one leaves the control undecided."""

import re

import pytest

from helpers.hostconfig.socketaccess import ACTION_FILE, polkit_grants, rule_grants
from helpers.verdict.undecided import Undecided

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


class Host:
    """A host's polkit files: path -> text, or an OSError to raise for it."""

    def __init__(self, files):
        self.files = files

    def read_text(self, path):
        return self._get(path)

    def listdir(self, path):
        found = self._get(path)
        return sorted(found) if isinstance(found, (list, tuple)) else found

    def _get(self, path):
        if path not in self.files:
            raise FileNotFoundError(2, "No such file or directory", path)
        found = self.files[path]
        if isinstance(found, OSError):
            raise found
        return found


POLICY = """<policyconfig><action id="org.libvirt.unix.manage"><defaults>
<allow_any>auth_admin</allow_any><allow_active>yes</allow_active></defaults></action>
</policyconfig>"""


def test_missing_polkit_files_grant_nothing():
    assert polkit_grants(Host({})) == []


def test_the_actions_defaults_and_each_rule_file_grant():
    host = Host({ACTION_FILE: POLICY, "/etc/polkit-1/rules.d": ["50-x.rules", "README"],
                 "/etc/polkit-1/rules.d/50-x.rules": EVERYONE})
    assert polkit_grants(host) == [
        f"every local user (allow_active yes in {ACTION_FILE})",
        "every local user (/etc/polkit-1/rules.d/50-x.rules)"]


@pytest.mark.parametrize("files, said", [
    ({ACTION_FILE: PermissionError(13, "Permission denied")}, "cannot be read (Permission"),
    ({ACTION_FILE: "<policyconfig><action"}, "is not XML polkit reads"),
    ({"/etc/polkit-1/rules.d": PermissionError(13, "Permission denied")}, "cannot be read"),
    ({"/usr/share/polkit-1/rules.d": ["60-libvirt.rules"],
      "/usr/share/polkit-1/rules.d/60-libvirt.rules": OSError(5, "Input/output error")},
     "60-libvirt.rules cannot be read (Input/output error)"),
])
def test_an_unreadable_or_unparsable_polkit_file_is_undecided_never_no_grants(files, said):
    with pytest.raises(Undecided, match=re.escape(said)):
        polkit_grants(Host(files))
