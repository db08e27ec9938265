"""What the image recipes under guest/ share: the cache key of a recipe and its list files.

    recipe_hash(Path("guest"), ("build.py", "packages.txt"))   # '3f2a...' (16 hex digits)
    listed(Path("guest/packages.txt"))                         # lines, comments left out
"""

import hashlib
from pathlib import Path

HERE = Path(__file__).resolve()


class BuildError(Exception):
    """An image could not be built; the message says what to install or fix."""


def recipe_hash(recipe_dir, names):
    """A hash of the recipe's files (and of this module): a new one means a new build."""
    digest = hashlib.sha256(HERE.read_bytes())
    for name in names:
        digest.update(name.encode() + b"\0" + (Path(recipe_dir) / name).read_bytes())
    return digest.hexdigest()[:16]


def listed(path):
    lines = Path(path).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]
