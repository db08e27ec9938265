"""The one error a hypervisor's host raises, apart from the transports that raise it, so that a
module reading host files through any transport imports no SSH or libvirt library.

    except HypervisorError as err:   # err names the fix ("give it read access ...")
"""


class HypervisorError(Exception):
    """The hypervisor's host cannot be reached or used; the message names the fix."""
