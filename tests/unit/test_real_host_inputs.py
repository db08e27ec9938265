"""--allowed-target and --management-target: an IPv4 address and a TCP port, or one line saying
what is wrong."""

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.plugin.inputs import endpoint

addresses = st.ip_addresses(v=4).map(str)


@given(addresses, st.integers(1, 65535))
def test_an_address_and_a_port_read_back(address, port):
    assert endpoint(f"{address}:{port}", "--allowed-target", True) == (address, port)


@given(addresses)
def test_the_management_target_port_is_optional(address):
    assert endpoint(address, "--management-target", False) == (address, None)


@given(st.text(max_size=30))
def test_anything_else_is_a_usage_error_naming_the_form(value):
    try:
        address, port = endpoint(value, "--allowed-target", True)
    except pytest.UsageError as err:
        assert "is not ADDR:PORT" in str(err) and "--allowed-target 10.0.0.5:443" in str(err)
    else:
        ipaddress.IPv4Address(address)
        assert 0 < port < 65536


@pytest.mark.parametrize("value", ["10.0.0.5", "10.0.0.5:0", "10.0.0.5:65536", "host:22",
                                   "10.0.0.5:ssh", ":22", "10.0.0.256:22"])
def test_what_is_refused(value):
    with pytest.raises(pytest.UsageError):
        endpoint(value, "--allowed-target", True)
