"""Who may drive VMs through libvirt's read-write UNIX socket: the socket's mode, and where the
mode lets everyone connect, the access control libvirtd applies (auth_unix_rw) in force.

    access = SocketAccess.judge(hypervisor, config, mode=0o140777)
    access.everyone      # True only when every local user may drive VMs
    access.how           # 'socket 0777; auth_unix_rw polkit: org.libvirt.unix.manage granted
                         #  to group libvirt (/usr/share/polkit-1/rules.d/60-libvirt.rules) ...'

With auth_unix_rw "polkit" (Debian's default) libvirtd makes the socket 0777 on purpose and asks
polkit for every client. polkit grants org.libvirt.unix.manage by the action's defaults
(<allow_any>, <allow_inactive>, <allow_active>) and by JavaScript rules: a rule that returns
polkit.Result.YES for the action with no test of the subject's group or user grants it to every
local user. The rules are read as text, not run: a rule is judged by its own block.
"""

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from helpers.verdict.undecided import Undecided

ACTION = "org.libvirt.unix.manage"
ACTION_FILE = "/usr/share/polkit-1/actions/org.libvirt.unix.policy"
RULE_DIRS = ("/etc/polkit-1/rules.d", "/usr/share/polkit-1/rules.d")
SUBJECT_TEST = re.compile(r"subject\.(isInGroup\(\s*[\"']([^\"']+)|user\s*==\s*[\"']([^\"']+))")


@dataclass(frozen=True)
class SocketAccess:
    everyone: bool
    how: str

    @classmethod
    def judge(cls, hypervisor, config, mode):
        perms = f"socket {mode & 0o777:o}"
        if not mode & 0o007:
            return cls(False, f"{perms}: other users cannot connect")
        auth = config.get("auth_unix_rw") or default_auth(hypervisor)
        if auth == "sasl":
            return cls(False, f"{perms}; auth_unix_rw sasl: a SASL login is required")
        if auth != "polkit":
            return cls(True, f"{perms}; auth_unix_rw {auth}: no authentication")
        grants = polkit_grants(hypervisor)
        everyone = [g for g in grants if g.startswith("every local user")]
        return cls(bool(everyone), f"{perms}; auth_unix_rw polkit: {ACTION} granted to "
                                   f"{'; '.join(grants) or 'administrators only (auth_admin)'}")


def default_auth(hypervisor):
    """libvirtd's default: polkit where it was built with it (it ships the action), else none."""
    return "polkit" if hypervisor.mode(ACTION_FILE) is not None else "none"


def polkit_grants(hypervisor):
    """Who polkit lets use the action without an administrator's password, with the source.
    Only a file or folder that is not there grants nothing: one vmiso cannot read or parse
    raises Undecided (it may grant anything)."""
    grants = _default_grants(hypervisor)
    for folder in RULE_DIRS:
        try:
            names = hypervisor.listdir(folder)
        except FileNotFoundError:
            continue
        except OSError as err:
            raise _unreadable(folder, err) from None
        for name in names:
            if name.endswith(".rules"):
                path = f"{folder}/{name}"
                grants += [f"{who} ({path})" for who in rule_grants(_read(hypervisor, path))]
    return grants


def _default_grants(hypervisor):
    try:
        root = ET.fromstring(hypervisor.read_text(ACTION_FILE))
    except FileNotFoundError:
        return []
    except OSError as err:
        raise _unreadable(ACTION_FILE, err) from None
    except ET.ParseError as err:
        raise Undecided(f"polkit's action file {ACTION_FILE} is not XML polkit reads ({err}): "
                        f"who may use libvirt's socket cannot be told") from None
    action = next((a for a in root.iter("action") if a.get("id") == ACTION), None)
    defaults = action.find("defaults") if action is not None else None
    if defaults is None:
        return []
    return [f"every local user ({child.tag} yes in {ACTION_FILE})" for child in defaults
            if (child.text or "").strip() == "yes"]


def rule_grants(text):
    """Who each rule block naming the action grants it to: 'group G', 'user U', or every local
    user when the block returns YES without testing the subject."""
    grants = []
    for block in re.split(r"polkit\.addRule\s*\(", text)[1:]:
        if ACTION not in block or "polkit.Result.YES" not in block:
            continue
        tests = SUBJECT_TEST.findall(block)
        if not tests:
            grants.append("every local user")
        grants += [f"group {group}" if group else f"user {user}" for _, group, user in tests]
    return grants


def _read(hypervisor, path):
    try:
        return hypervisor.read_text(path)
    except FileNotFoundError:  # removed since the folder was listed
        return ""
    except OSError as err:
        raise _unreadable(path, err) from None


def _unreadable(path, err):
    return Undecided(f"polkit's {path} cannot be read ({err.strerror or err}): who may use "
                     f"libvirt's socket cannot be told; let vmiso's user read it")
