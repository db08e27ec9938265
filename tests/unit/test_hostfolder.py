"""Why a path is not a folder of vmiso's own (helpers/host/hostfolder.py), read from lstat: a link
is never followed, whatever it points to."""

import os

from helpers.host.hostfolder import why_not_own


def test_a_folder_of_the_runs_user_is_its_own(tmp_path):
    assert why_not_own(os.lstat(tmp_path), os.getuid()) == ""


def test_a_link_to_a_folder_of_its_own_is_still_a_link(tmp_path):
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    assert why_not_own(os.lstat(link), os.getuid()) == "is a symbolic link, not a folder"


def test_a_file_and_an_absent_path_are_refused(tmp_path):
    (tmp_path / "file").write_text("")
    assert why_not_own(os.lstat(tmp_path / "file"), os.getuid()) == "is a file, not a folder"
    assert why_not_own(None, os.getuid()) == "cannot be made"


def test_another_users_folder_is_refused(tmp_path):
    status = os.lstat(tmp_path)
    assert why_not_own(status, status.st_uid + 1) == (
        f"belongs to uid {status.st_uid}, not to uid {status.st_uid + 1} that vmiso runs as")
