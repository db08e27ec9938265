#!/usr/bin/env python3
"""Benchmark: what a run costs on this machine, beside the floor the emulator sets. Prints the
figures and writes them to reports/bench.json.

    .venv/bin/python -m scripts.bench            # make bench

Measured: the probe image build (cold and cached); the floor (a bare QEMU boot of the probe
guest's kernel, with the same accelerator, to an /init that only says so), both as a bootloader
boots it (the compressed bzImage) and as the suite boots it (decompressed, through PVH); domain
creation and boot to SSH-ready over several boots, under BIOS and under UEFI with Secure Boot
and a TPM (the probe disk's signed chain, the hardened template's hardware); the cost of one
check from the outside and from the inside (from a hardened run's report); whole conformance
runs on hardened and leaky; wall time for 1, 2 and 4 guests booted at once; wall time
against the number of controls; a one-control run's setup, boot and teardown apart; 1, 2, 4 and
8 templates in one run beside N x one template's run over the cells run at once; and the static
run (make check-templates) over 100 templates, and `vmiso preflight` of this machine,
with its peak memory; loading a 60,000-record OSV feed and answering a run's PAT queries, before
and after it is indexed, with the peak memory.
"""

import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from helpers.local import waits
from helpers.vm.directboot import DirectBoot
from scripts import load, osvfeed  # load: one_guest, the lab plumbing it uses

ROOT = load.ROOT
FLOOR_MARK = b"vmiso-floor-init"
FLOOR_INIT = r"""
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <unistd.h>
int main(void)
{
    int fd;
    mount("devtmpfs", "/dev", "devtmpfs", 0, 0);
    fd = open("/dev/ttyS0", O_WRONLY);
    write(fd, "vmiso-floor-init\n", 17);
    fsync(fd);
    reboot(RB_POWER_OFF);
    return 0;
}
"""
BOOTS = 5
# Seconds at most, or the benchmark ends with an error naming the step: a tool (mcopy, gcc, cpio,
# a static run, pytest's collection), a floor boot (seconds under KVM, a minute under TCG) and a
# whole conformance run (tens of minutes on a slow machine)
TOOL_TIMEOUT_S, FLOOR_BOOT_TIMEOUT_S, RUN_TIMEOUT_S = 600, 600, 4 * 3600
# The hardened template on UEFI firmware with Secure Boot, Microsoft's keys and a TPM 2.0.
# UEFI and the kernel's decompression under it need more than hardened's 256 MiB.
UEFI_TEMPLATE = load.Domain.from_string(
    (ROOT / "templates" / "hardened.xml").read_text()
    .replace("256</memory>", "1024</memory>").replace("768</hard_limit>", "1536</hard_limit>")
    .replace("<os>", "<os firmware='efi'><firmware><feature enabled='yes' name='secure-boot'/>"
                     "<feature enabled='yes' name='enrolled-keys'/></firmware>")
    .replace("<memballoon model='none'/>", "<memballoon model='none'/><tpm model='tpm-crb'>"
                                           "<backend type='emulator' version='2.0'/></tpm>"))
CONTROL_COUNTS = (1, 10)
TEMPLATE_COUNTS = (1, 2, 4, 8)
OSV_RECORDS = 60000  # osv.dev's Debian/all.zip holds about as many


def spread(values):
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2), "n": len(values)}


def image_build():
    with tempfile.TemporaryDirectory(prefix="vmiso-bench-") as cache:
        started = time.monotonic()
        load.probe_guest.build(Path(cache))
        cold = time.monotonic() - started
        started = time.monotonic()
        load.probe_guest.build(Path(cache))
        cached = time.monotonic() - started
    return {"cold_s": round(cold, 2), "cached_s": round(cached, 3)}


def floor_boots(image, accelerator, count=3):
    """Seconds from starting QEMU to the floor /init's line on the serial console, per kernel:
    "bzimage" as a bootloader boots it, "direct" as the suite boots it (where the image has one)."""
    with tempfile.TemporaryDirectory(prefix="vmiso-floor-") as tmp:
        work = Path(tmp)
        subprocess.run(["mcopy", "-i", str(image), "::vmlinuz", str(work / "vmlinuz")],
                       check=True, timeout=TOOL_TIMEOUT_S)
        (work / "init.c").write_text(FLOOR_INIT)
        root = work / "root"
        (root / "dev").mkdir(parents=True)
        subprocess.run(["gcc", "-static", "-Os", "-o", str(root / "init"), str(work / "init.c")],
                       check=True, timeout=TOOL_TIMEOUT_S)
        listing = subprocess.run(["find", "."], cwd=root, check=True, capture_output=True,
                                 timeout=TOOL_TIMEOUT_S).stdout
        cpio = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"], cwd=root,
                              input=listing, check=True, capture_output=True,
                              timeout=TOOL_TIMEOUT_S).stdout
        (work / "initrd").write_bytes(cpio)
        kernels = {"bzimage": work / "vmlinuz"}
        direct = DirectBoot.beside(image)
        if direct:
            kernels["direct"] = direct.kernel
        return {name: [one_floor_boot(kernel, work / "initrd", accelerator)
                       for _ in range(count)] for name, kernel in kernels.items()}


def one_floor_boot(kernel, initrd, accelerator):
    started = time.monotonic()
    qemu = subprocess.Popen(
        ["qemu-system-x86_64", "-accel", accelerator, "-m", "256", "-nographic", "-no-reboot",
         "-nodefaults", "-serial", "stdio", "-kernel", str(kernel),
         "-initrd", str(initrd), "-append", "console=ttyS0 quiet panic=-1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        with waits.deadline(FLOOR_BOOT_TIMEOUT_S, qemu.kill) as fired:  # the read ends with it
            seen = _console_until(qemu.stdout, FLOOR_MARK)
        if fired.is_set() or FLOOR_MARK not in seen:
            raise RuntimeError(f"the floor guest never reached its /init (waited at most "
                               f"{FLOOR_BOOT_TIMEOUT_S} s)")
        return time.monotonic() - started
    finally:
        qemu.kill()
        qemu.wait(timeout=TOOL_TIMEOUT_S)


def _console_until(stream, mark):
    """What `stream` gave until `mark` came or it ended."""
    seen = b""
    while mark not in seen and (chunk := stream.read1(4096)):
        seen += chunk
    return seen


def boots(target, image, accelerator, template=load.TEMPLATE, count=BOOTS):
    """Boot timings, and the disk a guest costs: its qcow2 overlay, beside the base image."""
    figures = {"create_s": [], "create_to_lease_s": [], "create_to_ssh_s": []}
    overlays = []
    for _ in range(count):
        with load.launch(target, template, image, accelerator) as guest:
            for key in figures:
                figures[key].append(guest.timings[key])
            overlays.append((guest.workdir / "disk.qcow2").stat().st_blocks * 512 / 1024)
    result = {key: spread(values) for key, values in figures.items()}
    result["overlay_kib"] = spread(overlays)
    result["base_image_kib"] = round(image.path.stat().st_size / 1024)
    return result


def parallel(target, image, accelerator, count):
    started = time.monotonic()
    with ThreadPoolExecutor(count) as pool:
        list(pool.map(lambda _: load.one_guest(target, image, accelerator),
                      range(count)))
    return round(time.monotonic() - started, 1)


def conformance(*options):
    """Wall seconds of a conformance run and its report."""
    wall, report, _ = conformance_output(*options)
    return wall, report


def conformance_output(*options):
    """Wall seconds of a conformance run (as `make conformance` starts it), its report and its
    terminal output."""
    with tempfile.TemporaryDirectory(prefix="vmiso-bench-report-") as report_dir:
        started = time.monotonic()
        run = subprocess.run([sys.executable, "-m", "pytest", "suites", "-q", "--tb=no",
                              "--report-dir", report_dir, *options], cwd=ROOT,
                             capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                             env=dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1"))
        wall = time.monotonic() - started
        report = json.loads((Path(report_dir) / "controls.json").read_text())
    return round(wall, 1), report, run.stdout


def preflight(count=5):
    """Wall seconds of `vmiso preflight` on this machine, as a user starts it: the host's
    settings, devices, kernel and packages, no guest."""
    walls = []
    for _ in range(count):
        with tempfile.TemporaryDirectory(prefix="vmiso-bench-preflight-") as report_dir:
            started = time.monotonic()
            subprocess.run([str(ROOT / ".venv" / "bin" / "vmiso"), "preflight", "--report-dir",
                            report_dir], cwd=ROOT, capture_output=True, timeout=TOOL_TIMEOUT_S)
            walls.append(time.monotonic() - started)
            json.loads((Path(report_dir) / "controls.json").read_text())  # it reported
    return spread(walls)


def one_control_run(control="HV-01"):
    """A run of one control, its fixed cost apart: setup (lab start, guest boot), the boot
    alone, the checks, and teardown (guest and lab gone), from pytest's --durations."""
    wall, report, out = conformance_output("--control", control, "--durations=0",
                                           "--durations-min=0")
    phases = {"setup": 0.0, "call": 0.0, "teardown": 0.0}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].endswith("s") and parts[1] in phases:
            phases[parts[1]] += float(parts[0][:-1])
    boot = report["run"]["boot_to_ssh_s"]
    return {"control": control, "wall_s": wall, "setup_s": round(phases["setup"], 2),
            "boot_s": boot, "checks_s": round(phases["call"], 2),
            "teardown_s": round(phases["teardown"], 2), "wall_over_boot": round(wall / boot, 2)}


def templates_at_once(counts=TEMPLATE_COUNTS, control="HV-01"):
    """N copies of the hardened template in one run (one control each, on the lab): wall
    seconds beside the bound, the waves of cells the cores run at once times one template's
    run, plus the run's shared start (its own pytest start and collection, before any cell)."""
    figures = {}
    with tempfile.TemporaryDirectory(prefix="vmiso-bench-templates-") as folder:
        for n in counts:
            here = Path(folder) / str(n)
            here.mkdir()
            for i in range(n):
                (here / f"t{i + 1}.xml").write_text((ROOT / "templates" / "hardened.xml")
                                                    .read_text())
            wall, report = conformance("--template", str(here), "--control", control)
            assert len(report["cells"]) == n, report["cells"]
            figures[n] = {"wall_s": wall}
        shared = shared_start("--template", str(Path(folder) / str(counts[-1])),
                              "--control", control)
    one = figures[counts[0]]["wall_s"]
    at_once = os.cpu_count() or 1
    for n, entry in figures.items():
        entry["bound_s"] = round(math.ceil(n / at_once) * one + (shared if n > 1 else 0), 1)
    return {"control": control, "cells_at_once": at_once, "one_template_s": one,
            "shared_start_s": shared, "by_templates": figures}


def shared_start(*options):
    """Wall seconds of the run's own start: pytest's start and collection (--collect-only)."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "pytest", "suites", "-q", "--collect-only",
                    *options], cwd=ROOT, capture_output=True, timeout=TOOL_TIMEOUT_S,
                   env=dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1"))
    return round(time.monotonic() - started, 1)


def check_costs(report):
    costs = {"inside": [], "outside": []}
    seen = set()
    for control in report["controls"]:
        for check in control["checks"]:
            if check["check"] not in seen:
                seen.add(check["check"])
                costs[check["vantage"]].append(check["duration_s"])
    return {vantage: spread(values) for vantage, values in costs.items() if values}


def osv_feed(count=OSV_RECORDS):
    """A feed of `count` records shaped as osv.dev's Debian/all.zip: loading it and answering
    a run's PAT queries, first with no index kept (a feed just downloaded by hand), then from
    the index (make osv-update indexes at download), each in a process of its own."""
    with tempfile.TemporaryDirectory() as folder:
        feed, cache = Path(folder) / "Debian.zip", Path(folder) / "index"
        osvfeed.write(feed, count)
        figures = {"records": count, "zip_mib": round(feed.stat().st_size / 2**20, 1)}
        figures["first_load"] = measured_feed(feed, cache)
        warm = [measured_feed(feed, cache) for _ in range(3)]
        figures["indexed"] = {key: spread([w[key] for w in warm])
                              for key in ("load_s", "queries_s", "total_s", "peak_rss_mib")}
    return figures


def measured_feed(feed, cache):
    out = subprocess.run([sys.executable, "-m", "scripts.osvfeed", "measure", str(feed),
                          str(cache)], cwd=ROOT, capture_output=True, text=True, check=True,
                         timeout=TOOL_TIMEOUT_S)
    return json.loads(out.stdout)


def static_run(count=100):
    """make check-templates over `count` templates (hardened and leaky alternately): wall
    seconds and the process's peak memory."""
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i in range(count):
            path = Path(folder) / f"t{i:03}.xml"
            path.write_text((ROOT / "templates" / ("leaky.xml" if i % 2 else "hardened.xml"))
                            .read_text())
            paths.append(str(path))
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "scripts.check_templates", *paths,
                               "--report-dir", str(Path(folder) / "reports"), "--source-root",
                               str(folder)], cwd=ROOT, capture_output=True, text=True,
                              timeout=TOOL_TIMEOUT_S)
        wall = time.monotonic() - started
        if done.returncode not in (0, 1):  # 1: the leaky half fails its gate, as it must
            raise RuntimeError(f"the static run ended with {done.returncode}: "
                               f"{done.stderr[-500:]}")
    # the largest child so far: run first, this is the static run's own peak
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"templates": count, "wall_s": round(wall, 2), "peak_rss_mib": round(peak_kib / 1024)}


def main():
    static = static_run()  # first: the children's peak memory is then its own
    accelerator = load.accel.choose_here("auto")
    image = load.probe_guest.build(load.probe_guest.DEFAULT_CACHE)
    figures = {"static_run": static, "accelerator": accelerator, "image_build": image_build(),
               "osv_feed": osv_feed(), "preflight_wall_s": preflight()}
    floors = floor_boots(image, accelerator)
    figures["floor_qemu_to_init_s"] = spread(floors["bzimage"])
    if "direct" in floors:
        figures["floor_direct_qemu_to_init_s"] = spread(floors["direct"])
    lab = load.Lab.start(load.STATE_DIR, ROOT / ".cache" / "libvirt" / "hardened")
    try:
        target = load.Target.for_lab(lab)
        guest_image = load.GuestImage.probe(image)
        figures["boots"] = boots(target, guest_image, accelerator)
        figures["boots_uefi_secure_boot_tpm"] = boots(target, guest_image, accelerator,
                                                      UEFI_TEMPLATE, count=3)
        figures["parallel_wall_s"] = {n: parallel(target, guest_image, accelerator, n)
                                      for n in (1, 2, 4)}
        target.close()
    finally:
        lab.stop()
    median_ssh = figures["boots"]["create_to_ssh_s"]["median"]
    figures["ssh_ready_over_floor"] = round(median_ssh / statistics.median(floors["bzimage"]), 2)
    if "direct" in floors:
        figures["ssh_ready_over_direct_floor"] = round(
            median_ssh / statistics.median(floors["direct"]), 2)
    hardened_wall, hardened = conformance("--template", "hardened")
    figures["conformance_wall_s"] = {
        "hardened": hardened_wall,
        "leaky": conformance("--template", "leaky", "--host-profile", "leaky")[0]}
    figures["check_cost_s"] = check_costs(hardened)
    ids = [c["id"] for c in hardened["controls"]]
    by_count = {n: conformance("--control", ",".join(ids[:n]))[0] for n in CONTROL_COUNTS}
    figures["wall_by_controls_s"] = {**by_count, len(ids): hardened_wall}
    figures["one_control_run"] = one_control_run()
    figures["templates_in_one_run"] = templates_at_once()
    print(json.dumps(figures, indent=2))
    out = ROOT / "reports" / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
