"""A simulated host whose libvirtd has no CPU cgroup controller (a container host, or a cgroup
v2 host whose machine slice lacks `cpu` in its subtree_control): the lab's libvirtd is shown
every cgroup hierarchy of the machine but the one holding the cpu controller.

    pytest suites -p tests.support.plugins.no_cpu_cgroup
"""

from helpers.lab import cgroups

_every_hierarchy = cgroups.hierarchies


def _without_cpu(*args, **kwargs):
    return [(mount, folder) for mount, folder in _every_hierarchy(*args, **kwargs)
            if "cpu" not in mount.options.split(",")]


def pytest_configure(config):
    cgroups.hierarchies = _without_cpu
