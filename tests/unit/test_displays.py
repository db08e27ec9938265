"""Displays read from QEMU command lines as libvirt writes them: which a network peer can
watch in the clear."""

import pytest

from helpers.probes.management.displays import displays


@pytest.mark.parametrize("flag, value, seen, exposed", [
    ("-vnc", "0.0.0.0:0,audiodev=audio1", "vnc on 0.0.0.0 (in the clear)", True),
    ("-vnc", ":1", "vnc on every address (in the clear)", True),
    ("-vnc", "[::]:0", "vnc on :: (in the clear)", True),
    ("-vnc", "127.0.0.1:0", "vnc on 127.0.0.1 (in the clear)", False),
    ("-vnc", "vnc=unix:/var/lib/libvirt/qemu/domain-1-a/vnc.sock", "vnc on unix (in the clear)",
     False),
    ("-vnc", "0.0.0.0:0,tls-creds=vnc-tls-creds0", "vnc on 0.0.0.0 (TLS)", False),
    ("-spice", "port=5901,addr=0.0.0.0,disable-ticketing=on", "spice on 0.0.0.0 (in the clear)",
     True),
    ("-spice", "port=5901,tls-port=5902,addr=0.0.0.0,x509-dir=/etc/pki/libvirt-spice",
     "spice on 0.0.0.0 (TLS and in the clear)", True),
    ("-spice", "tls-port=5902,addr=0.0.0.0,x509-dir=/etc/pki/libvirt-spice",
     "spice on 0.0.0.0 (TLS)", False),
    ("-spice", "port=5901", "spice on every address (in the clear)", True),
    ("-spice", "unix=on,addr=/run/spice.sock,disable-ticketing=on", "spice on unix (in the clear)",
     False),
    ("-spice", "port=5900,addr=127.0.0.1", "spice on 127.0.0.1 (in the clear)", False),
])
def test_a_display_is_exposed_only_in_the_clear_beyond_loopback(flag, value, seen, exposed):
    (display,) = displays(("qemu-system-x86_64", "-name", "guest=a", flag, value))
    assert str(display) == seen
    assert display.in_clear_beyond_loopback is exposed


def test_no_display_and_vnc_none_are_nothing():
    assert displays(("qemu-system-x86_64", "-vnc", "none", "-display", "none")) == []
