"""File facts of the hypervisor's host for the host-side checks.

    files = HostFiles(target.hypervisor)
    files.mode("/dev/kvm")                 # st_mode, None when absent
    files.group_members("libvirt")         # ['root'], None when there is no such group
"""

from helpers.hostconfig import facts


class HostFiles:
    """File facts of the hypervisor's host: this machine, or a remote one over SSH."""

    def __init__(self, hypervisor):
        self.hypervisor = hypervisor

    def mode(self, path):
        """st_mode, or None when there is no such file."""
        return self.hypervisor.mode(path)

    def group_members(self, name):
        """Users in the group (as the group database lists them, plus those whose primary
        group it is); None when there is no such group."""
        return facts.group_members(self.hypervisor, name)
