"""The network suite's probes (suites/test_network.py): the token sweep and the canaries that judge
it (the lab's listeners, a real host's canary agent), and the captures of forged frames."""
