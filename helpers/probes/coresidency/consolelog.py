"""Where a guest's QEMU writes what the guest prints (its serial console, QEMU's own stdout and
stderr): through virtlogd, which rotates the log at max_size, or straight into a file that
grows as long as the guest keeps writing (qemu.conf stdio_handler = "file").

    unrotated_outputs(qemu_process)    # ['stdout: /var/log/libvirt/qemu/vm.log', ...]
    rollover(settings)                 # 2097152: virtlogd.conf max_size, 0 is none

QEMU's stdout and stderr must be pipes to virtlogd, and each chardev log a pipe libvirt hands
it (logfile=/dev/fdset/N); a stdout that is a file, or a chardev logfile= naming a path, is
written by QEMU itself.
"""

from helpers.probes.qemuproc import options

VIRTLOGD_MAX_SIZE = 2097152  # virtlogd's default max_size


def unrotated_outputs(process):
    """Outputs of the QEMU process that bypass virtlogd: regular files it writes itself."""
    found = []
    for fd, name in ((1, "stdout"), (2, "stderr")):
        target = process.hypervisor.readlink(f"/proc/{process.pid}/fd/{fd}")
        if target.startswith("/") and not target.startswith("/dev/"):
            found.append(f"{name}: {target}")
    for flag, value in zip(process.cmdline, process.cmdline[1:]):
        if flag == "-chardev":
            chardev = options(value)
            log = chardev.get("logfile", "")
            if log and not log.startswith("/dev/fdset/"):
                found.append(f"chardev {chardev.get('id', '?')}: {log}")
    return found


def rollover(settings):
    """virtlogd's max_size in bytes (0: logs are never rotated)."""
    return int(settings.get("max_size", VIRTLOGD_MAX_SIZE))
