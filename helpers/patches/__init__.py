"""Patch levels: version policies, Debian version ordering, the distribution's packages and OSV
vulnerability records."""
