"""A file replaced whole: written beside its place, then renamed over it, so a reader sees the
old text or the new, never half of one; a link in its place is replaced, never followed.

    replace(Path("reports/controls.json"), text)
"""

import os
from pathlib import Path


def replace(path, text):
    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    with os.fdopen(os.open(partial, flags, 0o644), "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(partial, path)
