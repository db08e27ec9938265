"""The local lab: a host of the run's own built in network namespaces, its libvirtd's
configuration (the host profile under test) and its cgroups."""
