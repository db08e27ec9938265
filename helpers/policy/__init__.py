"""The policy file: which one a run judges by, and what it says (version floors and CVE tables,
the triage of unfixed CVEs, whether SMT is accepted, HV-09's device allowlist), read once."""
