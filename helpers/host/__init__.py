"""The hypervisor's host: the target (libvirt connection and host), its files and commands, facts
and confinement, the QEMU process, libvirtd, QMP, the guest agent, traffic filters, the image
cache and run marks."""
