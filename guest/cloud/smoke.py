"""Boot the cloud image once by hand with a NoCloud seed and log in as cloud-init's user.

    .venv/bin/python guest/cloud/smoke.py [--cache DIR] [--disk virtio|sata] [--timeout S]
                                          [--serial-log PATH]

No lab and no libvirtd: QEMU (TCG) boots a qcow2 overlay of the image built by build.py (built
first where the cache has none, which needs root), with a seed ISO from helpers/vm/cloudinit.py on
its CD-ROM and user-mode networking with `restrict=on` (the guest reaches nothing) and one
forward from a free port on 127.0.0.1 to its port 22. Paramiko logs in with the ephemeral client
key, as the manifest's default_user, trusting the pinned host key only (RejectPolicy: no trust on
first use), and runs sudo -n true, systemctl is-system-running --wait, cloud-init status --wait,
uname -r and /etc/os-release, and reads the guest's host keys back.

Prints a JSON report (seconds from QEMU's start to SSH-ready and to a running system, what the
guest said); exit status 0 when every check held, 1 when one did not, 3 when the guest could not
be booted or reached. QEMU is killed by its pid and the overlay, seed and keys (one temp folder)
are removed on every exit path; --serial-log keeps a copy of the guest's console.
"""

import argparse
import base64
import importlib.util
import io
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
from helpers.vm.cloudinit import seed_iso  # noqa: E402

HOSTNAME = "vmiso-smoke"
COMMAND_TIMEOUT = 300


class SmokeError(Exception):
    """The guest could not be booted or reached; the message says where it stopped."""


def load_build():
    spec = importlib.util.spec_from_file_location("vmiso_cloud_build", HERE / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def keypair():
    """An ed25519 key: (OpenSSH private text, public line)."""
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, public


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def qemu_command(overlay, seed, port, serial, disk):
    if disk == "virtio":
        drive = ["-drive", f"file={overlay},format=qcow2,if=virtio"]
    else:
        drive = ["-device", "ahci,id=sata", "-drive", f"file={overlay},format=qcow2,if=none,"
                 f"id=disk0", "-device", "ide-hd,drive=disk0,bus=sata.0"]
    return ["qemu-system-x86_64", "-accel", "tcg", "-m", "1024", "-smp", "1", "-nographic",
            "-monitor", "none", "-no-reboot", *drive, "-cdrom", str(seed),
            "-netdev", f"user,id=n,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:22",
            "-device", "virtio-net-pci,netdev=n", "-serial", f"file:{serial}"]


def tail(path, lines=15):
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no serial output)"
    text = re.sub(r"\x1b\[[0-9;]*m", "", text.replace("\r", ""))  # systemd's colours
    return "\n".join(text.splitlines()[-lines:])


def connect(port, user, client_key, host_key, qemu, serial, deadline):
    """SSH to the guest as soon as it answers; only the pinned host key is trusted."""
    # While the guest boots, QEMU accepts and drops connections: paramiko would log each one.
    logging.getLogger("paramiko").addHandler(logging.NullHandler())
    logging.getLogger("paramiko").propagate = False
    last = "no answer"
    while time.monotonic() < deadline:
        if qemu.poll() is not None:
            raise SmokeError(f"QEMU exited ({qemu.returncode}) before SSH was up; console:\n"
                             f"{tail(serial)}")
        client = paramiko.SSHClient()
        client.get_host_keys().add(f"[127.0.0.1]:{port}", "ssh-ed25519", host_key)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            # Until the guest's network is up, QEMU accepts the connection and no banner comes:
            # a short banner timeout keeps the measured time close to sshd's real start.
            client.connect("127.0.0.1", port=port, username=user, pkey=client_key,
                           allow_agent=False, look_for_keys=False, timeout=5,
                           banner_timeout=5, auth_timeout=30)
            return client
        except paramiko.BadHostKeyException as err:
            client.close()
            raise SmokeError(f"the guest presented host key {err.key.get_base64()[:24]}..., "
                             f"not the pinned one: cloud-init did not apply the seed's key")
        except paramiko.SSHException as err:
            client.close()
            if "not found in known_hosts" in str(err):
                raise SmokeError("the guest presented a host key of another type than the "
                                 "pinned ed25519 one: cloud-init did not apply the seed's key")
            last = f"{type(err).__name__}: {err}"
        except (OSError, EOFError) as err:
            client.close()
            last = f"{type(err).__name__}: {err}"
        time.sleep(1)
    raise SmokeError(f"no SSH login within the timeout (last: {last}); console:\n"
                     f"{tail(serial)}")


def execute(client, command):
    _, stdout, stderr = client.exec_command(command, timeout=COMMAND_TIMEOUT)
    out = stdout.read().decode(errors="replace").strip()
    err = stderr.read().decode(errors="replace").strip()
    return stdout.channel.recv_exit_status(), out, err


def checks(client, host_public, started):
    """What the guest says, and which of the expectations held."""
    report, failed = {}, []
    # Where the time went: the guest's uptime at the first login (QEMU's start to the kernel's
    # is firmware and bootloader) and when sshd was up, both counted from the kernel's start.
    _, out, _ = execute(client, "cut -d' ' -f1 /proc/uptime; "
                                "systemctl show -p ActiveEnterTimestampMonotonic --value ssh")
    uptime, sshd_up = (out.split() + ["0", "0"])[:2]
    report["guest_uptime_at_login_s"] = round(float(uptime), 1)
    report["sshd_up_after_kernel_start_s"] = round(int(sshd_up) / 1e6, 1)
    rc, _, err = execute(client, "sudo -n true")
    report["sudo_n_true"] = rc
    if rc != 0:
        failed.append(f"sudo -n true exited {rc}: {err}")
    rc, state, _ = execute(client, "systemctl is-system-running --wait")
    report["system_running_s"] = round(time.monotonic() - started, 1)
    report["system_state"] = state
    if state != "running":
        _, units, _ = execute(client, "systemctl --failed --no-legend --plain")
        report["failed_units"] = units.splitlines()
        failed.append(f"system is {state}: failed units {report['failed_units']}")
    rc, status, _ = execute(client, "cloud-init status --wait --long")
    report["cloud_init"] = status.splitlines()
    if rc != 0 or "status: done" not in status:
        failed.append(f"cloud-init status: {status!r}")
    report["uname_r"] = execute(client, "uname -r")[1]
    os_release = dict(line.split("=", 1) for line in execute(client, "cat /etc/os-release")[1]
                      .splitlines() if "=" in line)
    report["os"] = os_release.get("PRETTY_NAME", "").strip('"')
    report["hostname"] = execute(client, "hostname")[1]
    if report["hostname"] != HOSTNAME:
        failed.append(f"hostname is {report['hostname']!r}, not the seed's {HOSTNAME!r}")
    _, keys, _ = execute(client, "ls /etc/ssh/ | grep '^ssh_host_' || true")
    report["host_key_files"] = keys.split()
    # cloud-init writes the public half 0600 too.
    _, guest_public, _ = execute(client, "sudo -n cat /etc/ssh/ssh_host_ed25519_key.pub")
    report["host_key_pinned"] = guest_public.split()[:2] == host_public.split()[:2]
    if not report["host_key_pinned"]:
        failed.append("/etc/ssh/ssh_host_ed25519_key.pub is not the seed's host key")
    if sorted(report["host_key_files"]) != ["ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"]:
        failed.append(f"the guest has other host keys too: {report['host_key_files']}")
    _, analyze, _ = execute(client, "systemd-analyze time; systemd-analyze blame | head -n 8")
    report["systemd_analyze"] = [line.strip() for line in analyze.splitlines()]
    _, chain, _ = execute(client, "systemd-analyze critical-chain --no-pager ssh.service")
    report["ssh_critical_chain"] = [line.strip() for line in chain.splitlines()[2:] if line.strip()]
    return report, failed


def smoke(args):
    build = load_build()
    try:
        image = build.build(args.cache.resolve())
    except build.BuildError as err:
        raise SmokeError(f"cannot build the cloud image: {err}")
    manifest = json.loads((image.parent / "manifest.json").read_text())
    user = manifest["default_user"]
    work = Path(tempfile.mkdtemp(prefix="vmiso-cloud-smoke-"))
    qemu = client = None
    try:
        client_private, client_public = keypair()
        host_private, host_public = keypair()
        seed = seed_iso(work / "seed.iso", instance_id=f"vmiso-smoke-{uuid.uuid4().hex[:12]}",
                        hostname=HOSTNAME, user=user, authorized_key=client_public,
                        host_key_private=host_private, host_key_public=host_public)
        overlay = work / "overlay.qcow2"
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                        str(image), str(overlay)], check=True, capture_output=True)
        serial = work / "serial.log"
        port = free_port()
        started = time.monotonic()
        with open(work / "qemu.out", "wb") as out:
            qemu = subprocess.Popen(qemu_command(overlay, seed, port, serial, args.disk),
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        client_key = paramiko.Ed25519Key(file_obj=io.StringIO(client_private))
        host_key = paramiko.Ed25519Key(data=base64.b64decode(host_public.split()[1]))
        client = connect(port, user, client_key, host_key, qemu, serial,
                         started + args.timeout)
        report = {"image": str(image), "disk": args.disk, "user": user,
                  "ssh_ready_s": round(time.monotonic() - started, 1)}
        found, failed = checks(client, host_public, started)
        report.update(found)
        report["failed"] = failed
        return report
    finally:
        if client is not None:
            client.close()
        if qemu is not None:
            stop(qemu)
        if args.serial_log and (work / "serial.log").exists():
            shutil.copy(work / "serial.log", args.serial_log)
        shutil.rmtree(work, ignore_errors=True)


def stop(qemu):
    """End QEMU by its pid: SIGTERM, then SIGKILL if it lingers."""
    if qemu.poll() is None:
        os.kill(qemu.pid, signal.SIGTERM)
        try:
            qemu.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(qemu.pid, signal.SIGKILL)
            qemu.wait()


def terminate(signum, frame):
    raise SystemExit(f"vmiso: cloud image smoke test interrupted by signal {signum}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=load_build().DEFAULT_CACHE)
    parser.add_argument("--disk", choices=("virtio", "sata"), default="virtio")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds from QEMU's start to give SSH (default 900)")
    parser.add_argument("--serial-log", type=Path, help="keep a copy of the guest's console")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    try:
        report = smoke(args)
    except SmokeError as err:
        print(f"vmiso: cloud image smoke test: {err}", file=sys.stderr)
        sys.exit(3)
    print(json.dumps(report, indent=2))
    sys.exit(1 if report["failed"] else 0)


if __name__ == "__main__":
    main()
