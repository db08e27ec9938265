"""The lab's libvirt folders: its libvirtd sees lab copies at the host's own paths (its mount
namespace), and the controller reaches them under the lab's root. The standard library alone,
so the report plugin and pure logic can translate paths without the lab's machinery.

    seen_from_outside("/run/vmiso/ab12", "/var/lib/libvirt/qemu/save/g.save")
    # '/run/vmiso/ab12/lib/libvirt/qemu/save/g.save'
    as_host_path("/run/vmiso/ab12", "/run/vmiso/ab12/etc/libvirt/qemu.conf")
    # '/etc/libvirt/qemu.conf'
"""

# (folder under the lab root, path it hides inside the lab's mount namespace)
BIND_MOUNTS = (
    ("etc/libvirt", "/etc/libvirt"),
    ("run/libvirt", "/run/libvirt"),
    ("lib/libvirt", "/var/lib/libvirt"),
    ("log", "/var/log"),  # libvirt's logs, and the TPM emulator's that libvirt never removes
    ("cache", "/var/cache/libvirt"),
)


def seen_from_outside(lab_root, path):
    """Where the controller reaches a path the lab's libvirt sees as `path`."""
    for folder, hidden in BIND_MOUNTS:
        if path.startswith(hidden + "/"):
            return f"{lab_root}/{folder}/{path.removeprefix(hidden + '/')}"
    return path


def as_host_path(lab_root, text):
    """`text` with the lab's copies named by the host paths they stand for."""
    for folder, hidden in BIND_MOUNTS:
        text = text.replace(f"{lab_root}/{folder}", hidden)
    return text
