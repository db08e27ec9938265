"""The local lab: its network namespaces, its libvirtd's configuration, the canary listeners and
the captures on its host side."""
