"""What each suite measures: one package per risk area (escape, shares, network, coresidency,
management, host), beside suites/test_<area>.py; qemuproc is read by several areas."""
