"""This machine, the controller itself: running a command, a file's digest, free disk space, cleanup
that a Ctrl-C must not cut short, waits that end (waits). Imports nothing else of vmiso."""
