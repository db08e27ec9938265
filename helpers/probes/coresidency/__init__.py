"""The coresidency suite's probes (suites/test_coresidency.py): the CPU and I/O limits a running
guest is held to, and where its console output goes."""
