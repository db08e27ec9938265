"""The one way a check or probe says it cannot decide: an error verdict, never a pass.

    raise Undecided("positive twin failed: the guest could not reach the uplink")

Whatever the cause (a command failed in the guest, QMP did not answer, a canary could not be
put, a host file is missing), the reason is the message; the report shows it as the control's
error.
"""


class Undecided(Exception):
    """This check cannot decide; the message says why."""
