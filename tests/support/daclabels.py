"""Static DAC labels for self-test guests, one uid per guest that needs one of its own.

The self-tests run side by side (pytest-xdist), and ESC-07 reads every QEMU process on the
machine: two tests that give a guest the same uid would each see the other's guest as a
neighbour sharing it. Every uid handed out here is distinct, so no two tests collide.

    with_label(HARDENED, IDENTITY_UID)   # <seclabel model='dac'> +20011:+<libvirt-qemu's gid>
"""

import grp

QEMU_GROUP = grp.getgrnam("libvirt-qemu").gr_gid  # the image cache is readable to QEMU's group
DRILL_ATTACKER_UID = 20001
DRILL_VICTIM_UID = 20002
IDENTITY_UID = 20011


def label(uid):
    """A static DAC seclabel element for uid, in QEMU's usual group."""
    return (f"<seclabel type='static' model='dac' relabel='yes'><label>+{uid}:+{QEMU_GROUP}"
            f"</label></seclabel>")


def with_label(template_xml, uid):
    """The template's XML text with a static DAC label of uid's own."""
    return template_xml.replace("</devices>", f"</devices>\n  {label(uid)}", 1)

