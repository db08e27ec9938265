"""The shares suite's probes (suites/test_shares.py): the clipboard canary (VNC and SPICE clients),
the guest agent, the host's identifiers."""
