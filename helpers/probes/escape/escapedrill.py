"""The escape drill: vmiso acts as a guest that broke out of QEMU would, against its neighbour.

    drill = EscapeDrill.run(target, attacker=guest, victim=sibling)
    drill.identity      # 'uid 64055 gid 64055 groups 64055 CapEff 0 ...' as taken
    drill.twin          # 'read its own disk .../disk.qcow2 (qcow2 header)': it holds the identity
    for a in drill.attempts:
        a.what, a.path, a.allowed, a.how    # 'read the neighbour's disk', ..., True, 'done'

A probe (drillprobe.py beside this module) runs as root on the hypervisor's host, takes the
attacking guest's QEMU identity (mount namespace, cgroup, MAC label, uid, gids, capabilities,
no_new_privs; the seccomp filter is ESC-03's) and tries the neighbour's disk, memory and sockets,
libvirtd's socket, and creating a file under /etc and in the image folders. Nothing is written.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from helpers.host.errors import HypervisorError
from helpers.probes.qemuproc import QemuProcess
from helpers.verdict.undecided import Undecided

PROBE = Path(__file__).with_name("drillprobe.py")
LIBVIRT_IMAGES = "/var/lib/libvirt/images"


@dataclass(frozen=True)
class Attempt:
    what: str
    path: str
    allowed: bool
    how: str


@dataclass(frozen=True)
class EscapeDrill:
    attacker: QemuProcess
    victim: QemuProcess
    identity: str
    twin: str
    attempts: tuple

    @classmethod
    def run(cls, target, attacker, victim):
        hypervisor = target.hypervisor
        if hypervisor.uid != 0:
            raise Undecided("the escape drill takes QEMU's identity, which needs root on the "
                            "hypervisor's host: connect as root (qemu+ssh://root@HOST/system)")
        attacking = QemuProcess.of(hypervisor, attacker.name)
        attacked = QemuProcess.of(hypervisor, victim.name)
        args = {"attacker": attacking.pid, "victim": attacked.pid,
                "own_disk": str(attacker.overlay), "victim_disk": str(victim.overlay),
                "libvirt_socket": target.socket_path,
                "folders": folders(hypervisor, target.images.root)}
        try:
            out = hypervisor.run("python3", "-c", PROBE.read_text(), json.dumps(args))
        except HypervisorError as err:
            raise Undecided(f"the escape drill's probe did not run (python3 is needed on the "
                            f"hypervisor's host): {err}") from None
        try:
            result = json.loads(out)
        except ValueError:
            raise Undecided(f"the escape drill's probe printed no report (a MAC profile may "
                            f"have stopped it): {out.strip()[-200:] or 'nothing'}") from None
        return cls.judge(attacking, attacked, result)

    @classmethod
    def judge(cls, attacker, victim, result):
        """The drill as the probe reported it; Undecided where the probe did not hold QEMU's
        identity, so no refusal it saw would be QEMU's."""
        if "error" in result:
            raise Undecided(f"escape drill: {result['error']}")
        identity = result["identity"]
        if identity["differs"]:
            raise Undecided(f"escape drill: the probe's {', '.join(identity['differs'])} "
                            f"differ from QEMU pid {attacker.pid}'s; its refusals would not "
                            f"be QEMU's")
        twin = result["twin"]
        if not twin["read"]:
            raise Undecided(f"escape drill's positive twin failed: under QEMU pid "
                            f"{attacker.pid}'s identity the probe could not read its own "
                            f"guest's disk {twin['path']} ({twin.get('error') or twin['head']})")
        taken = (f"uid {identity['uid']} gid {identity['gid']} groups "
                 f"{identity['groups'] or 'none'} CapEff {identity['cap_eff']} label "
                 f"{identity['label'] or 'none'}")
        notes = "; ".join(identity["notes"])
        attempts = tuple(Attempt(a["what"], a["path"], a["allowed"], a["how"])
                         for a in result["attempts"])
        return cls(attacker, victim, taken + (f" ({notes})" if notes else ""),
                   f"read its own disk {twin['path']} (qcow2 header)", attempts)


def folders(hypervisor, image_cache):
    """Where an escaped QEMU must not create files: /etc, the image cache vmiso's guests boot
    from, and libvirt's default image folder, those the host has."""
    return [str(f) for f in ("/etc", image_cache, LIBVIRT_IMAGES)
            if hypervisor.mode(f) is not None]
