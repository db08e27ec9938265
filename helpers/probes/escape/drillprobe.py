"""The escape drill's probe: run as root on the hypervisor's host, it takes a guest's QEMU
identity and tries what a guest that escaped QEMU would try against its neighbour. It changes
nothing: files are opened, never written; a file it may create is an O_TMPFILE that vanishes at
close.

    python3 drillprobe.py '{"attacker": 4242, "victim": 4343, "own_disk": "...", ...}'

It prints one JSON object: the identity it took (and whether it matches QEMU's), each attempt
with "allowed" true or false and the error that refused it, and the positive twin (its own
guest's disk read under the same identity). Standard library only: it runs on any host with
python3, this machine or a remote one (helpers/probes/escape/escapedrill.py sends it).
"""

import ctypes
import errno
import json
import os
import socket
import sys

CLONE_NEWNS = 0x00020000
PR_SET_KEEPCAPS = 8
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
CAP_VERSION_3 = 0x20080522
CAP_LAST = 63
QCOW2_MAGIC = b"QFI\xfb"

libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def mac_label(pid):
    """The AppArmor or SELinux label of a process ('' without a MAC in force)."""
    for path in (f"/proc/{pid}/attr/apparmor/current", f"/proc/{pid}/attr/current"):
        try:
            with open(path) as f:
                return f.read().strip("\0\n ")
        except OSError:
            continue
    return ""


def listening_sockets(pid):
    """Paths of the UNIX sockets the process listens on (its monitor, agent channels)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    paths = []
    with open(f"/proc/{pid}/net/unix") as f:
        next(f)
        for line in f:
            parts = line.split()
            # Num RefCount Protocol Flags Type St Inode [Path]; St 01 is listening
            if len(parts) >= 8 and parts[6] in inodes and parts[5] == "01" \
                    and parts[7].startswith("/"):
                paths.append(parts[7])
    return sorted(set(paths))


def cgroup_mounts():
    """{controller ('' for cgroup v2): (root of the mount, mount point)} on this host."""
    mounts = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            tail = fields[fields.index("-") + 1:]
            if tail[0] == "cgroup2":
                mounts.setdefault("", (fields[3], fields[4]))
            elif tail[0] == "cgroup":
                for option in tail[2].split(","):
                    mounts.setdefault(option, (fields[3], fields[4]))
    return mounts


def cgroup_procs(pid):
    """(cgroup.procs files of the process's cgroups, hierarchies not mounted on the host)."""
    mounts = cgroup_mounts()
    found, unmounted = [], []
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            key = controllers.split(",")[0]
            if key not in mounts:
                unmounted.append(controllers or "cgroup2")
                continue
            root, point = mounts[key]
            if root != "/" and path.startswith(root):
                path = path[len(root):]
            found.append(f"{point}{path.rstrip('/')}/cgroup.procs")
    return found, unmounted


def join_cgroups(pid):
    """Move this process into the QEMU process's cgroups; what could not be joined."""
    procs, unmounted = cgroup_procs(pid)
    notes = [f"cgroup {', '.join(unmounted)} not mounted on the host"] if unmounted else []
    for path in procs:
        try:
            with open(path, "w") as f:
                f.write(str(os.getpid()))
        except OSError as err:
            notes.append(f"cgroup {path} not joined ({err.strerror})")
    return notes


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def set_capabilities(effective, permitted, inheritable):
    header = _CapHeader(CAP_VERSION_3, 0)
    data = (_CapData * 2)()
    for i in range(2):
        shift = 32 * i
        data[i].effective = (effective >> shift) & 0xFFFFFFFF
        data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
    _check(libc.capset(ctypes.byref(header), data), "capset")


def take_identity(pid):
    """Become the QEMU process `pid` as far as the kernel judges access: its mount namespace,
    cgroup, MAC label, groups, gid, uid, capabilities and no_new_privs. Returns what was
    taken and what could not be."""
    qemu = status(pid)
    label = mac_label(pid)
    bounding = int(qemu["CapBnd"], 16)
    for cap in range(CAP_LAST + 1):
        if not bounding >> cap & 1:
            libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the kernel's last cap
    notes = join_cgroups(pid)
    namespace = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY)
    try:
        _check(libc.setns(namespace, CLONE_NEWNS), "setns into QEMU's mount namespace")
    finally:
        os.close(namespace)
    _check(libc.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "keeping capabilities across setuid")
    os.setgroups([int(g) for g in qemu["Groups"].split()])
    gid, uid = int(qemu["Gid"].split()[1]), int(qemu["Uid"].split()[1])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    set_capabilities(int(qemu["CapEff"], 16), int(qemu["CapPrm"], 16),
                     int(qemu["CapInh"], 16))
    if label and label != "unconfined" and not label.startswith("unconfined "):
        _take_label(label)
    if qemu.get("NoNewPrivs") == "1":
        _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    return _compare(pid, qemu, label, notes)


def _take_label(label):
    """AppArmor: change to QEMU's profile; SELinux: set QEMU's context (policy may refuse)."""
    if os.path.exists("/proc/self/attr/apparmor/current") or label.endswith(")"):
        profile = label.rsplit(" (", 1)[0]
        path = "/proc/self/attr/apparmor/current"
        if not os.path.exists(path):
            path = "/proc/self/attr/current"
        with open(path, "w") as f:
            f.write(f"changeprofile {profile}")
    else:
        with open("/proc/self/attr/current", "w") as f:
            f.write(label)


def _compare(pid, qemu, label, notes):
    mine = status("self")
    keys = ("Uid", "Gid", "Groups", "CapEff", "CapPrm", "NoNewPrivs")
    differ = [k for k in keys if mine.get(k) != qemu.get(k)]
    if os.readlink("/proc/self/ns/mnt") != os.readlink(f"/proc/{pid}/ns/mnt"):
        differ.append("mount namespace")
    if mac_label("self") != label:
        differ.append("MAC label")
    return {"uid": mine["Uid"].split()[1], "gid": mine["Gid"].split()[1],
            "groups": mine["Groups"], "cap_eff": mine["CapEff"], "label": mac_label("self"),
            "differs": differ, "notes": notes}


def attempt(what, path, action):
    try:
        detail = action()
    except OSError as err:
        return {"what": what, "path": path, "allowed": False,
                "how": errno.errorcode.get(err.errno, str(err.errno))}
    return {"what": what, "path": path, "allowed": True, "how": detail or "done"}


def open_file(path, flags):
    def action():
        os.close(os.open(path, flags))
    return action


def connect(path):
    def action():
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(path)
        return "connected"
    return action


def create_in(folder):
    """An unnamed file in the folder (O_TMPFILE, gone at close); where the file system has no
    O_TMPFILE, the kernel's write-and-search permission check on the folder instead."""
    def action():
        try:
            os.close(os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600))
            return "created (an unnamed O_TMPFILE, gone at close)"
        except OSError as err:
            if err.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
        if not os.access(folder, os.W_OK | os.X_OK, effective_ids=False):
            raise OSError(errno.EACCES, "no write permission")
        return "writable (access W_OK: this file system has no O_TMPFILE)"
    return action


def read_own_disk(path):
    with open(path, "rb") as f:
        head = f.read(4)
    return {"path": path, "read": head == QCOW2_MAGIC, "head": head.hex()}


def drill(args):
    victim = args["victim"]
    for disk in (args["own_disk"], args["victim_disk"]):
        if not os.path.exists(disk):
            return {"error": f"the guests' disk {disk} is not on the host"}
    sockets = listening_sockets(victim)
    try:
        identity = take_identity(args["attacker"])
    except OSError as err:
        return {"error": f"could not take QEMU pid {args['attacker']}'s identity: {err}"}
    try:
        twin = read_own_disk(args["own_disk"])
    except OSError as err:
        twin = {"path": args["own_disk"], "read": False, "head": "",
                "error": errno.errorcode.get(err.errno, str(err.errno))}
    disk = args["victim_disk"]
    attempts = [attempt("read the neighbour's disk", disk, open_file(disk, os.O_RDONLY)),
                attempt("open the neighbour's disk for writing", disk,
                        open_file(disk, os.O_WRONLY | os.O_APPEND)),
                attempt("read the neighbour's memory (ptrace attach check)",
                        f"/proc/{victim}/mem", open_file(f"/proc/{victim}/mem", os.O_RDONLY))]
    attempts += [attempt("connect to the neighbour's QEMU socket", path, connect(path))
                 for path in sockets]
    attempts.append(attempt("connect to libvirtd's socket", args["libvirt_socket"],
                            connect(args["libvirt_socket"])))
    attempts += [attempt("create a file", folder, create_in(folder))
                 for folder in args["folders"]]
    return {"identity": identity, "twin": twin, "victim_sockets": sockets,
            "attempts": attempts}


if __name__ == "__main__":
    print(json.dumps(drill(json.loads(sys.argv[1]))))
