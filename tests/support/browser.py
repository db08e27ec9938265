"""A real browser for the HTML report: Debian's chromium, headless, and the PNG rows of its
screenshots.

    dom = chromium(tmp_path, "--dump-dom", page.as_uri())
"""

import os
import shutil
import struct
import subprocess
import zlib

import pytest


def chromium(tmp_path, *args):
    """Run Debian's chromium headless with a throwaway profile; its stdout."""
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("chromium is not installed: run `make deps` (scripts/debian-packages.txt)")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--force-color-profile=srgb", "--hide-scrollbars",
               f"--user-data-dir={tmp_path / 'profile'}", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, HOME=str(home)))
    assert result.returncode == 0, f"{' '.join(command)}: {result.stderr[-2000:]}"
    return result.stdout


def png_rows(data, count):
    """The first `count` rows of an 8-bit RGB(A) PNG, unfiltered: a list of bytes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks, pos = {}, 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunks.setdefault(kind, []).append(data[pos + 8:pos + 8 + length])
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"][0])
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    pixel = 3 if colour == 2 else 4
    stride = width * pixel
    count = min(count, height)
    raw = zlib.decompressobj().decompress(b"".join(chunks[b"IDAT"]), count * (stride + 1))
    rows, previous = [], bytes(stride)
    for y in range(count):
        start = y * (stride + 1)
        line = bytearray(raw[start + 1:start + 1 + stride])
        unfilter(raw[start], line, previous, pixel)
        rows.append(bytes(line))
        previous = line
    return rows, pixel


def unfilter(kind, line, previous, pixel):
    """Undo one row's PNG filter (0 none, 1 sub, 2 up, 3 average, 4 Paeth) in place."""
    if kind == 0:
        return
    if kind == 2:
        line[:] = bytes((a + b) & 0xFF for a, b in zip(line, previous))
        return
    for i in range(len(line)):
        left = line[i - pixel] if i >= pixel else 0
        up, corner = previous[i], previous[i - pixel] if i >= pixel else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            guess = left + up - corner
            near = min((abs(guess - left), 0, left), (abs(guess - up), 1, up),
                       (abs(guess - corner), 2, corner))[2]
            line[i] = (line[i] + near) & 0xFF


def colours(rows, pixel):
    return {row[i:i + 3] for row in rows for i in range(0, len(row), pixel)}
