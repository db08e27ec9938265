#!/usr/bin/env python3
"""Load figures: throwaway guests booted one after another and several at once in one lab, with
the runner's memory after each, and a check that nothing is left behind. Prints the figures and
writes them to reports/load.json.

    .venv/bin/python -m scripts.load --sequential 20 --parallel 4
"""

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from guest import build as probe_guest
from helpers.host import libvirtconn
from helpers.lab.lab import Lab
from helpers.plugin import accel
from helpers.template.domxml import Domain
from helpers.vm.image import GuestImage
from helpers.vm.launch import launch
from helpers.vm.target import Target

ROOT = Path(__file__).resolve().parents[1]

STATE_DIR = Path("/run/vmiso")
TEMPLATE = Domain.from_string((ROOT / "templates" / "hardened.xml").read_text())


def rss_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def one_guest(target, image, accelerator):
    """Boot a guest, run one command in it, destroy it: seconds from start to SSH and in all."""
    started = time.monotonic()
    with launch(target, TEMPLATE, image, accelerator) as guest:
        ready = time.monotonic() - started
        if guest.run("uname -r").rc != 0:
            raise RuntimeError(f"{guest.name}: uname failed")
    return ready, time.monotonic() - started


def leftovers(lab, settle_s=15):
    """What the guests left in the lab. A lab's guest is killed outright; libvirt forgets it
    once its own cleanup is done (seconds), so that is waited for first."""
    deadline = time.monotonic() + settle_s
    while lab_domains(lab) and time.monotonic() < deadline:
        time.sleep(0.2)
    domains = lab_domains(lab)
    files = list((lab.root / "guests").glob("*")) if (lab.root / "guests").exists() else []
    return domains + [str(f) for f in files]


def lab_domains(lab):
    conn = libvirtconn.open_connection(lab.uri)
    try:
        return [d.name() for d in conn.listAllDomains()]
    finally:
        conn.close()


def main():
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--sequential", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--output", default=str(ROOT / "reports" / "load.json"))
    args = parser.parse_args()
    image = GuestImage.probe(probe_guest.build(probe_guest.DEFAULT_CACHE))
    accelerator = accel.choose_here("auto")
    lab = Lab.start(STATE_DIR, ROOT / ".cache" / "libvirt" / "hardened")
    figures = {"accelerator": accelerator, "cpus": os.cpu_count()}
    try:
        target = Target.for_lab(lab)
        rss, ready = [rss_mib()], []
        started = time.monotonic()
        for _ in range(args.sequential):
            ready.append(one_guest(target, image, accelerator)[0])
            rss.append(rss_mib())
        figures["sequential"] = {
            "guests": args.sequential, "wall_s": round(time.monotonic() - started, 1),
            "create_to_ssh_median_s": round(statistics.median(ready), 2),
            "create_to_ssh_min_max_s": [round(min(ready), 2), round(max(ready), 2)],
            "runner_rss_mib_first_last_max": [round(rss[1], 1), round(rss[-1], 1),
                                              round(max(rss), 1)],
            "left_behind": leftovers(lab)}
        started = time.monotonic()
        with ThreadPoolExecutor(args.parallel) as pool:
            results = list(pool.map(lambda _: one_guest(target, image, accelerator),
                                    range(args.parallel)))
        figures["parallel"] = {
            "guests": args.parallel, "wall_s": round(time.monotonic() - started, 1),
            "create_to_ssh_s": sorted(round(r[0], 2) for r in results),
            "runner_rss_mib_after": round(rss_mib(), 1), "left_behind": leftovers(lab)}
        target.close()
    finally:
        lab.stop()
    figures["lab_left_behind"] = [str(p) for p in (lab.root,) if p.exists()]
    print(json.dumps(figures, indent=2))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(figures, indent=2) + "\n")
    clean = not (figures["sequential"]["left_behind"] or figures["parallel"]["left_behind"]
                 or figures["lab_left_behind"])
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
