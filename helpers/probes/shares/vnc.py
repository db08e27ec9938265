"""The host side of the clipboard: a minimal VNC (RFB 3.8) client that puts text on QEMU's
clipboard with ClientCutText, as a person copying text in a VNC viewer does.

    with netns.connect("vmiso-1a2b3c", ("127.0.0.1", 5951), timeout=5) as sock:
        cut_text(sock, "vmiso-clip-1234")

Only displays without a password (security type None) are driven; a display with one raises
Undecided, since the canary could not be put on its clipboard. Each read waits as long as the
socket's timeout (netns.connect's, or the SSH channel's of Hypervisor.open_socket); a server
silent that long is Undecided too.
"""

import struct
import time

from helpers.verdict.undecided import Undecided

RFB_VERSION = b"RFB 003.008\n"
SECURITY_NONE = 1
CLIENT_CUT_TEXT = 6
SETTLE_S = 0.5


def _recv(sock, count):
    data = b""
    while len(data) < count:
        try:
            chunk = sock.recv(count - len(data))
        except TimeoutError:
            raise Undecided(f"the VNC server sent nothing for {sock.gettimeout():g} s after "
                            f"{len(data)} of {count} bytes") from None
        if not chunk:
            raise Undecided(f"the VNC server closed the connection after {len(data)} bytes")
        data += chunk
    return data


def _handshake(sock):
    if not _recv(sock, 12).startswith(b"RFB 003."):
        raise Undecided("the display did not greet as an RFB 3.x server")
    sock.sendall(RFB_VERSION)
    types = _recv(sock, _recv(sock, 1)[0])
    if SECURITY_NONE not in types:
        raise Undecided(f"the display requires authentication (security types {list(types)})")
    sock.sendall(bytes([SECURITY_NONE]))
    if struct.unpack(">I", _recv(sock, 4))[0] != 0:
        raise Undecided("the display refused the connection")
    sock.sendall(b"\x01")  # ClientInit: share the desktop
    _recv(sock, 20)  # width, height, pixel format
    _recv(sock, struct.unpack(">I", _recv(sock, 4))[0])  # desktop name


def cut_text(sock, text):
    """Hand `text` to the server's clipboard, then give it a moment to read it."""
    _handshake(sock)
    data = text.encode("latin-1")
    sock.sendall(struct.pack(">B3xI", CLIENT_CUT_TEXT, len(data)) + data)
    time.sleep(SETTLE_S)
