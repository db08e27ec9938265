"""What the hypervisor's host is and how it is set up: its distribution and kernel, kernel
settings, libvirtd's configuration, socket access and listening sockets, the security drivers
that confine QEMU, its traffic filters. Read by the lab and the guests when they are made, and by
the checks."""
