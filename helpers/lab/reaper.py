"""Start the lab's daemons under a process that adopts and reaps them and whatever they start.

    python3 -I helpers/lab/reaper.py sh -c "virtlogd -d ... && libvirtd -d ..."

Exits with the command's exit status once the command has ended, and leaves behind a process,
in the same namespaces and cgroup, that is the child subreaper (prctl PR_SET_CHILD_SUBREAPER) of
everything the command started: the daemons it forked off and every QEMU they start. On a
host whose init reaps orphans at once (systemd) this changes nothing; under an init that reaps
them every two seconds, libvirt waited that long for each QEMU it killed (a zombie still answers
kill(pid, 0)), and a lifecycle walk stops QEMU six times. The reaper ends when its last child
has, or with the lab's other processes at its teardown.

A script run by path, importing nothing of vmiso: it runs inside the lab's namespaces.
"""

import ctypes
import os
import sys

PR_SET_CHILD_SUBREAPER = 36


def main(argv):
    status_read, status_write = os.pipe()
    if os.fork():  # the caller waits for the command alone, then goes on
        os.close(status_write)
        status = os.read(status_read, 16)
        return int(status) if status.strip().lstrip(b"-").isdigit() else 1
    os.close(status_read)
    os.setsid()
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print(f"reaper: prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}",
              file=sys.stderr)
        os.write(status_write, b"1")
        os._exit(1)
    command = os.fork()
    if command == 0:
        os.close(status_write)
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    _, status = os.waitpid(command, 0)
    os.write(status_write, str(os.waitstatus_to_exitcode(status)).encode())
    os.close(status_write)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # the caller's pipes close: it sees the command's end
        os.dup2(null, fd)
    while True:
        try:
            os.wait()
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:
            continue


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: reaper.py COMMAND [ARG...]")
    sys.exit(main(sys.argv[1:]))
