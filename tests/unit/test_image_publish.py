"""Unit tests: two builds of the probe image for the same recipe (two runs started at once on a
fresh cache) both end with the image in place; the build needs nothing beyond the standard
library."""

import subprocess
import sys
from pathlib import Path

import pytest

from guest import build

ROOT = Path(__file__).resolve().parents[2]


def staged_image(folder, text):
    folder.mkdir()
    (folder / build.IMAGE_NAME).write_text(text)
    return folder


def test_the_first_build_to_finish_puts_its_image_in_place(tmp_path):
    target = tmp_path / "recipe"
    build.publish(staged_image(tmp_path / "first", "first"), target)
    build.publish(staged_image(tmp_path / "second", "second"), target)  # the other run
    assert (target / build.IMAGE_NAME).read_text() == "first"


def test_a_place_taken_by_something_else_than_an_image_is_an_error(tmp_path):
    target = tmp_path / "recipe"
    target.mkdir()
    (target / "stray").write_text("not an image")
    with pytest.raises(OSError):
        build.publish(staged_image(tmp_path / "staged", "image"), target)


def test_the_image_build_imports_with_the_standard_library_alone():
    """`make image` runs guest/build.py with the system's Python, before any virtual
    environment: what it imports must need no package from PyPI (-S: no site-packages)."""
    done = subprocess.run([sys.executable, "-S", "-c", "import guest.build"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
