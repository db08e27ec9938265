"""Unit tests: two builds of the probe image for the same recipe (two runs started at once on a
fresh cache) both end with the image in place."""

import pytest

from guest import build


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
