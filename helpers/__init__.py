"""vmiso's helpers, and the one place their layering is written down.

LAYERS lists the packages bottom up. A package imports only packages of lower layers: never one
of its own layer, never one above it, so no two packages import each other and each can be read
and tested with what lies below it. tests/unit/test_imports.py enforces it (`make unit`).

    layer_of("helpers.vm.launch")      # 8: helpers.vm

CHECKOUT is the folder vmiso runs from (catalog/, policies/, canary/, .cache/ ...), named here
once so that no module counts its own depth in the tree.
"""

from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent

LAYERS = (
    ("helpers.local",),                      # this machine, the controller: commands, digests
    ("helpers.template",),                   # pure: what a template says and the rules on it
    ("helpers.verdict", "helpers.patches"),  # pure: controls and verdicts; versions and feeds
    ("helpers.policy", "helpers.output"),    # pure: the policy file; the report formats
    ("helpers.host",),                       # how to reach and drive a hypervisor's host
    ("helpers.hostconfig",),                 # what that host is and how it is set up
    ("helpers.lab",),                        # the local lab: a host built in namespaces
    ("helpers.vm", "guest"),                 # the guest's life; the probe guest's image
    ("helpers.probes",),                     # what several suites measure (the QEMU process)
    ("helpers.probes.escape", "helpers.probes.shares", "helpers.probes.network",
     "helpers.probes.coresidency", "helpers.probes.management",
     "helpers.probes.host"),                 # what each suite measures, one area each
    ("helpers.plugin",),                     # the pytest plugin: inputs, run, report
    ("fixtures",),                           # the suites' fixtures
)


def package_of(module):
    """The package of LAYERS a module belongs to (the longest that holds it), or None."""
    found = [p for layer in LAYERS for p in layer if module == p or module.startswith(p + ".")]
    return max(found, key=len, default=None)


def layer_of(module):
    """The layer number (1 = lowest) of the package a module belongs to, or None."""
    package = package_of(module)
    return next((n for n, layer in enumerate(LAYERS, 1) if package in layer), None)
