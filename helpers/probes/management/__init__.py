"""The management suite's probes (suites/test_management.py): the displays a QEMU process serves."""
