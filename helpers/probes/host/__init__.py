"""The host suite's probes (suites/test_host.py): the host's IOMMU."""
