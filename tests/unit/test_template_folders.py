"""What names a template, for every command: a built-in name, a file, or a folder of them
(helpers/template/templatefile.py); `vmiso conformance --template` takes a folder's domain XML,
`vmiso check-templates` its xl.cfg files too, both with the same one-line refusals."""

import json
import shutil
from pathlib import Path

import pytest

from helpers.template import templatefile
from helpers.template.templatefile import DOMAIN_XML, XML_OR_XL_CFG, TemplateArgumentError
from scripts import check_templates

ROOT = Path(__file__).resolve().parents[2]
XL_PV = 'name = "web"\ntype = "pv"\nkernel = "/boot/vmlinuz"\nmemory = 512\n'


@pytest.fixture
def folder(tmp_path):
    made = tmp_path / "vms"
    (made / "sub").mkdir(parents=True)
    for name in ("hardened", "leaky"):
        shutil.copy(ROOT / "templates" / f"{name}.xml", made / f"{name}.xml")
    (made / "web.cfg").write_text(XL_PV)
    (made / "notes.txt").write_text("not a template")
    shutil.copy(ROOT / "templates" / "leaky.xml", made / "sub" / "deeper.xml")
    return made


def names(paths):
    return [p.name for p in paths]


def test_a_folder_gives_its_own_files_of_the_kinds_asked_sorted(folder):
    assert names(templatefile.folder_files(str(folder))) == ["hardened.xml", "leaky.xml"]
    assert names(templatefile.folder_files(str(folder), XML_OR_XL_CFG)) == [
        "hardened.xml", "leaky.xml", "web.cfg"]


def test_a_name_or_file_is_itself(folder):
    assert templatefile.folder_files("leaky") == [ROOT / "templates" / "leaky.xml"]
    assert templatefile.folder_files(str(folder / "web.cfg")) == [folder / "web.cfg"]
    assert templatefile.folder_files("gone.xml") == [Path("gone.xml")]  # read says it is gone


@pytest.mark.parametrize("kinds, message", [
    (DOMAIN_XML, "the folder has no *.xml template; name a folder of libvirt domain XML files"),
    (XML_OR_XL_CFG, "the folder has no *.xml or *.cfg template; name a folder of libvirt domain "
                    "XML or xl.cfg files"),
])
def test_an_empty_folder_is_refused_in_one_line(tmp_path, kinds, message):
    with pytest.raises(TemplateArgumentError) as err:
        templatefile.folder_files(str(tmp_path), kinds)
    assert str(err.value) == f"{tmp_path}: {message}"


def test_two_templates_of_one_name_are_refused(folder):
    (folder / "leaky.cfg").write_text(XL_PV)
    with pytest.raises(TemplateArgumentError) as err:
        templatefile.expand([str(folder)], XML_OR_XL_CFG)
    assert str(err.value) == (f"two templates named leaky ({folder / 'leaky.cfg'}, "
                              f"{folder / 'leaky.xml'}); the report names templates by file "
                              f"name, give each once under its own name")
    with pytest.raises(TemplateArgumentError, match="two templates named hardened"):
        templatefile.expand(["hardened", str(folder)])


def test_check_templates_judges_a_folder_of_xml_and_xl_cfg(folder, tmp_path):
    status = check_templates.main([str(folder), "--report-dir", str(tmp_path / "r"),
                                   "--source-root", str(tmp_path)])
    assert status == check_templates.EXIT_FAILED
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        "hardened", "leaky", "vmiso.sarif", "web"]
    log = json.loads((tmp_path / "r" / "vmiso.sarif").read_text())
    assert [a["location"]["uri"] for a in log["runs"][0]["artifacts"]] == [
        "vms/hardened.xml", "vms/leaky.xml", "vms/web.cfg"]


@pytest.mark.parametrize("make, problem", [
    (lambda folder: [str(folder / "sub" / "empty")], "the folder has no *.xml or *.cfg template"),
    (lambda folder: [str(folder), "leaky"], "two templates named leaky"),
    (lambda folder: [str(folder / "gone.xml")], "gone.xml does not exist; give the path"),
])
def test_check_templates_refuses_in_one_line_with_its_own_name(folder, tmp_path, capsys, make,
                                                               problem):
    (folder / "sub" / "empty").mkdir()
    assert check_templates.main([*make(folder), "--report-dir", str(tmp_path / "r")]) == 4
    err = capsys.readouterr().err
    assert err.startswith("vmiso check-templates: ") and err.count("\n") == 1
    assert problem in err
    assert not (tmp_path / "r").exists()


def test_a_broken_template_names_the_command(tmp_path, capsys):
    (tmp_path / "broken.xml").write_text("<domain><devices>")
    assert check_templates.main([str(tmp_path / "broken.xml"), "--report-dir",
                                 str(tmp_path / "r"), "--source-root", str(tmp_path)]) == 4
    assert capsys.readouterr().err.startswith("vmiso check-templates: template ")
