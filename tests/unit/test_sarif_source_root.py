"""SARIF paths under a source root: relative, percent-encoded URIs with uriBaseId SRCROOT and the
root's file:// URI in run.originalUriBaseIds; a template outside the root refused in one line; the
default root of `vmiso check-templates`, the git top level of the first template's folder."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers.output import sarif
from scripts import check_templates
from tests.unit.test_sarif import CATALOG, VERSION, Finding, validate

ROOT = Path(__file__).resolve().parents[2]
LEAKY = ROOT / "templates" / "leaky.xml"
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def log_of(templates, root, findings=()):
    log = sarif.build(templates, list(findings), CATALOG, VERSION, source_root=root)
    validate(log)
    return log["runs"][0]


def test_paths_are_relative_to_the_root_and_the_root_is_a_file_uri(tmp_path):
    template = tmp_path / "vms" / "web.xml"
    run = log_of([str(template)], tmp_path, [Finding(str(template), "HV-01", "floppy", 3)])
    location = {"uri": "vms/web.xml", "uriBaseId": "SRCROOT"}
    assert run["artifacts"] == [{"location": location}]
    assert run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        **location, "index": 0}
    assert run["originalUriBaseIds"] == {"SRCROOT": {"uri": f"{tmp_path.as_uri()}/"}}


def test_a_relative_template_and_root_are_taken_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert sarif.relative_uri("vms/../vms/web.xml", ".") == "vms/web.xml"
    assert sarif.relative_uri("./web.xml", ".") == "web.xml"  # no './' for code scanning


@pytest.mark.parametrize("name, uri", [
    ("prod vms/web 1.xml", "prod%20vms/web%201.xml"),
    ("a#b/c?d%e.xml", "a%23b/c%3Fd%25e.xml"),
    ("génération/ñ.xml", "g%C3%A9n%C3%A9ration/%C3%B1.xml"),
    ("c:/x.xml", "c%3A/x.xml"),  # not read as a scheme
])
def test_uris_are_percent_encoded(tmp_path, name, uri):
    assert sarif.relative_uri(tmp_path / name, tmp_path) == uri
    log_of([str(tmp_path / name)], tmp_path)


def test_a_root_with_a_space_is_an_encoded_uri_ending_in_a_slash(tmp_path):
    assert sarif.root_uri(tmp_path / "my repo") == f"{tmp_path.as_uri()}/my%20repo/"
    assert sarif.root_uri("/") == "file:///"


def test_a_symlinked_root_or_folder_still_holds_its_templates(tmp_path):
    (tmp_path / "real" / "vms").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert sarif.relative_uri(tmp_path / "real" / "vms" / "a.xml", tmp_path / "link") == "vms/a.xml"
    assert sarif.relative_uri(tmp_path / "link" / "vms" / "a.xml", tmp_path / "real") == "vms/a.xml"


@pytest.mark.parametrize("template", ["/elsewhere/web.xml", "../web.xml", "."])
def test_a_template_outside_the_root_is_refused(tmp_path, monkeypatch, template):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(sarif.OutsideSourceRoot, match="outside the source root") as err:
        sarif.build([template], [], CATALOG, VERSION, source_root=".")
    assert err.value.template == template and err.value.root == tmp_path


def test_without_a_root_the_log_is_as_before():
    run = sarif.build(["templates/leaky.xml"], [], CATALOG, VERSION)["runs"][0]
    assert "originalUriBaseIds" not in run
    assert run["artifacts"] == [{"location": {"uri": "templates/leaky.xml",
                                              "uriBaseId": "SRCROOT"}}]


# vmiso check-templates: --source-root, its default and its errors.

def repository(folder):
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(folder)], check=True, capture_output=True)
    return folder


def sarif_run(report_dir):
    return json.loads((report_dir / "vmiso.sarif").read_text())["runs"][0]


def check(args, tmp_path):
    return check_templates.main([*map(str, args), "--report-dir", str(tmp_path / "reports")])


def copy_leaky(folder, name="leaky.xml"):
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(LEAKY, folder / name))


@needs_git
def test_the_default_root_is_the_git_top_level_of_the_first_templates_folder(tmp_path,
                                                                             monkeypatch):
    repo = repository(tmp_path / "repo")
    template = copy_leaky(repo / "vms" / "prod")
    monkeypatch.chdir(tmp_path)  # the working directory is not the repository
    assert check([template], tmp_path) == check_templates.EXIT_FAILED
    run = sarif_run(tmp_path / "reports")
    assert run["artifacts"][0]["location"] == {"uri": "vms/prod/leaky.xml", "uriBaseId": "SRCROOT"}
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == repo.resolve().as_uri() + "/"


@needs_git
def test_outside_a_repository_the_default_root_is_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    template = copy_leaky(tmp_path / "vms")
    monkeypatch.chdir(tmp_path)
    check([template], tmp_path)
    assert sarif_run(tmp_path / "reports")["artifacts"][0]["location"]["uri"] == "vms/leaky.xml"


def test_without_git_the_default_root_is_the_working_directory(tmp_path, monkeypatch):
    template = copy_leaky(tmp_path / "vms")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    check([template], tmp_path)
    assert sarif_run(tmp_path / "reports")["artifacts"][0]["location"]["uri"] == "vms/leaky.xml"


def test_the_source_root_option_sets_the_root(tmp_path, monkeypatch):
    template = copy_leaky(tmp_path / "repo" / "vms")
    monkeypatch.chdir(tmp_path)
    check([template, "--source-root", "repo"], tmp_path)
    run = sarif_run(tmp_path / "reports")
    assert run["artifacts"][0]["location"]["uri"] == "vms/leaky.xml"
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == (tmp_path / "repo").as_uri() + "/"


def test_a_template_outside_the_source_root_is_one_line_and_exit_4(tmp_path, capsys):
    template = copy_leaky(tmp_path / "elsewhere")
    (tmp_path / "repo").mkdir()
    assert check([template, "--source-root", tmp_path / "repo"], tmp_path) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("vmiso check-templates: ")
    assert f"template {template} is outside the source root {tmp_path / 'repo'}" in err
    assert "give --source-root the folder that holds every template" in err
    assert not (tmp_path / "reports").exists()  # refused before any report is written


@needs_git
def test_a_template_outside_the_default_root_names_the_git_top_level(tmp_path, capsys):
    repo = repository(tmp_path / "repo")
    first, other = copy_leaky(repo / "vms"), copy_leaky(tmp_path / "other", "other.xml")
    assert check([first, other], tmp_path) == 4
    err = capsys.readouterr().err
    assert "is outside the source root" in err and f"the git top level of {repo / 'vms'}" in err


def test_a_source_root_that_is_no_folder_is_refused(tmp_path, capsys):
    assert check([LEAKY, "--source-root", tmp_path / "gone"], tmp_path) == 4
    assert "--source-root" in capsys.readouterr().err
