"""A SPICE client that offers text on the display's clipboard, as a person copying text in
virt-viewer does: spice-gtk's GLib client (SpiceClientGLib) through PyGObject.

    /usr/bin/python3 -m helpers.probes.shares.spiceclient 127.0.0.1 5901 vmiso-clip-1234 20

It runs in Debian's own python3, where python3-gi and gir1.2-spiceclientglib-2.0 are packages
(not in vmiso's virtual environment), and prints one line per step: "connected", "agent" (the
guest's agent is there), "grabbed" (the clipboard is offered), "sent" (the guest's agent asked
for it and got the text), or "error ...". It exits after SECONDS.

Imports nothing of vmiso: helpers/probes/shares/clipboard.py starts it in a subprocess.
"""

import sys

UTF8_TEXT = 1  # VD_AGENT_CLIPBOARD_UTF8_TEXT
SELECTION_CLIPBOARD = 0
GRAB_EVERY_S = 2


def main(host, port, text, seconds):
    import gi
    gi.require_version("SpiceClientGLib", "2.0")
    from gi.repository import GLib, GObject, SpiceClientGLib

    loop = GLib.MainLoop()
    session = SpiceClientGLib.Session(host=host, port=str(port))
    data = text.encode()

    def say(line):
        print(line, flush=True)

    def on_request(main, selection, kind):
        if kind == UTF8_TEXT:
            main.clipboard_selection_notify(selection, kind, data)
            say("sent")
        return True

    def grab(main):
        if main.get_property("agent-connected"):
            main.clipboard_selection_grab(SELECTION_CLIPBOARD, [UTF8_TEXT])
            say("grabbed")
        return True  # offered again: the agent may announce itself after the first grab

    def on_agent(main):
        if main.get_property("agent-connected"):
            say("agent")

    def on_channel(_, channel):
        if isinstance(channel, SpiceClientGLib.MainChannel):
            say("connected")
            GObject.Object.connect(channel, "main-clipboard-selection-request", on_request)
            GObject.Object.connect(channel, "main-agent-update", on_agent)
            GLib.timeout_add_seconds(GRAB_EVERY_S, grab, channel)

    # Session.connect() and Channel.connect() open connections: signals go through GObject's
    GObject.Object.connect(session, "channel-new", on_channel)
    if not session.connect():
        say(f"error cannot connect to {host}:{port}")
        return 1
    GLib.timeout_add_seconds(seconds, loop.quit)
    loop.run()
    session.disconnect()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])))
    except (ImportError, ValueError) as err:
        print(f"error {err}", flush=True)
        sys.exit(1)
