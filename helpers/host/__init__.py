"""How vmiso reaches and drives a hypervisor's host: this machine or one over SSH (hypervisor,
spawned, sshchannels), a port forwarded to it, a libvirt connection that notices a daemon gone
(libvirtconn), QEMU's monitor through libvirt, and vmiso's own agent there
(canaryagent: started, spoken to and swept like the host's other channels; what it hears is
judged in helpers/probes/network/), with the one error a host raises."""
