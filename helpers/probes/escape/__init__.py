"""The escape suite's probes and drill (suites/test_escape.py): the escape drill, its probe on the
host, what a stopped guest leaves on the host's files."""
