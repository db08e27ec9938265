"""How vmiso reaches and drives a hypervisor's host: this machine or one over SSH (hypervisor,
spawned), a port forwarded to it, QEMU's monitor through libvirt, vmiso's own canary agent there,
the sockets its processes listen on, and the one error a host raises."""
