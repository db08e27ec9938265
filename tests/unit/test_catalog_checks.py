"""Each catalog entry names the checks that prove its control, and only those: the suites' checks
(read from their source with ast, never imported: they need libvirt, which `make unit` lacks), the
template rule (rules.XML_CONTROLS) and the QEMU device-tree pattern (rules.QTREE_SURFACE); and
catalog.load() refuses a malformed one, naming the control and the field.

    mismatches(marked_checks(SUITES), catalog.load())   # [] when the catalog and suites agree
"""

import ast
import dataclasses
import importlib
from pathlib import Path

import pytest

from helpers.template import rules
from helpers.verdict import catalog

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "suites"
CATALOG = catalog.load()


def marked_checks(folder):
    """{control: {"suites/<file>::<check>"}} of every suite file in `folder`."""
    marked = {}
    for path in sorted(folder.glob("test_*.py")):
        name = path.relative_to(ROOT).as_posix()
        for cid, checks in checks_in(path.read_text(), name).items():
            marked.setdefault(cid, set()).update(checks)
    return marked


def checks_in(source, name):
    """{control: {"<name>::<check>"}} of one suite's source, from its control marks."""
    module = ast.parse(source)
    marked = {}
    for node in module.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            for cid in controls_marked(node, module):
                marked.setdefault(cid, set()).add(f"{name}::{node.name}")
    return marked


def controls_marked(function, module):
    """The controls of `@pytest.mark.control(...)` and of a parametrize over per_control(...)."""
    found = []
    for mark in function.decorator_list:
        if not isinstance(mark, ast.Call):
            continue
        if ast.unparse(mark.func) == "pytest.mark.control":
            found += [ast.literal_eval(arg) for arg in mark.args]
        per_control = [a for a in mark.args
                       if isinstance(a, ast.Call) and ast.unparse(a.func) == "per_control"]
        found += [cid for call in per_control for cid in per_control_ids(call.args[0], module)]
    return found


def per_control_ids(table, module):
    """The controls a per_control(...) argument holds: a literal of this module, or a table of a
    module it imports (`rules.XML_CONTROLS`)."""
    if isinstance(table, ast.Attribute) and isinstance(table.value, ast.Name):
        return list(getattr(importlib.import_module(imported(table.value.id, module)), table.attr))
    literal = next((node.value for node in module.body if isinstance(node, ast.Assign)
                    and ast.unparse(node.targets[0]) == ast.unparse(table)), table)
    if isinstance(literal, ast.Dict):
        return [ast.literal_eval(key) for key in literal.keys]
    return list(ast.literal_eval(literal))


def imported(alias, module):
    """The module a name was imported as (`from helpers.template import rules`)."""
    for node in module.body:
        if isinstance(node, ast.ImportFrom):
            names = {a.asname or a.name: f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            names = {a.asname or a.name: a.name for a in node.names}
        else:
            continue
        if alias in names:
            return names[alias]
    raise LookupError(f"{alias} is not imported")


def mismatches(marked, controls):
    """A line per check marked with a control whose entry does not name it, and per check an
    entry names that is not marked with its control (or does not exist)."""
    unnamed = [f"{cid}: {check} is marked with it but not in its checks"
               for cid, checks in sorted(marked.items()) for check in sorted(checks)
               if cid not in controls or check not in controls[cid].checks]
    unmarked = [f"{cid}: {check} is in its checks but not marked with it"
                for cid, control in controls.items() for check in control.checks
                if check not in marked.get(cid, ())]
    return unnamed + unmarked


def rule_mismatches(controls, xml_controls):
    """A line per control whose template_rule is not the rule rules.XML_CONTROLS gives it."""
    return [f"{cid}: template_rule {control.template_rule!r}, rules.py: {rule!r}"
            for cid, control in controls.items()
            if control.template_rule != (rule := getattr(xml_controls.get(cid), "__name__", None))]


def qtree_mismatches(controls, surface):
    """A line per control whose qtree flag disagrees with rules.QTREE_SURFACE."""
    return [f"{cid}: qtree = {str(control.qtree).lower()}, QTREE_SURFACE "
            f"{'has' if cid in surface else 'lacks'} it"
            for cid, control in controls.items() if control.qtree != (cid in surface)]


def test_the_catalog_names_every_marked_check_and_only_those():
    assert mismatches(marked_checks(SUITES), CATALOG) == []


def test_every_control_names_a_check():
    assert [cid for cid, control in CATALOG.items() if not control.checks] == []


def test_every_control_names_its_owner():
    assert {cid: c.owner for cid, c in CATALOG.items() if c.owner not in catalog.OWNERS} == {}


def test_template_rules_are_those_of_rules_py():
    assert rule_mismatches(CATALOG, rules.XML_CONTROLS) == []


def test_qtree_flags_are_those_of_rules_py():
    assert qtree_mismatches(CATALOG, rules.QTREE_SURFACE) == []


PLANTED = '''
import pytest
from helpers.template import rules

PORTS = {"SHR-02": "com.redhat.spice.0"}

@pytest.mark.control("HV-01")
def test_floppy(guest, evidence): ...

@pytest.mark.parametrize("control", per_control(PORTS))
def test_port(control, guest, evidence): ...

@pytest.mark.parametrize("control", per_control(rules.QTREE_SURFACE))
def test_qtree(control, guest, evidence): ...
'''


def planted(cid, **fields):
    return dataclasses.replace(CATALOG[cid], **fields)


def test_a_planted_source_reads_as_its_marks_say():
    marked = checks_in(PLANTED, "s.py")
    assert marked["HV-01"] == {"s.py::test_floppy", "s.py::test_qtree"}
    assert marked["SHR-02"] == {"s.py::test_port"}
    assert set(marked) == {"SHR-02"} | set(rules.QTREE_SURFACE)


def test_a_check_missing_from_its_entry_or_named_by_another_fails():
    marked = {"HV-01": {"s.py::test_floppy"}, "SHR-02": {"s.py::test_port"}}
    controls = {"HV-01": planted("HV-01", checks=("s.py::test_floppy", "s.py::test_gone")),
                "SHR-02": planted("SHR-02", checks=("s.py::test_floppy",))}
    assert mismatches(marked, controls) == [
        "SHR-02: s.py::test_port is marked with it but not in its checks",
        "HV-01: s.py::test_gone is in its checks but not marked with it",
        "SHR-02: s.py::test_floppy is in its checks but not marked with it"]


def test_a_wrong_template_rule_or_qtree_flag_fails():
    controls = {"HV-01": planted("HV-01", template_rule="usb", qtree=False),
                "HV-10": planted("HV-10", template_rule="floppy", qtree=True)}
    assert rule_mismatches(controls, rules.XML_CONTROLS) == [
        "HV-01: template_rule 'usb', rules.py: 'floppy'",
        "HV-10: template_rule 'floppy', rules.py: None"]
    assert qtree_mismatches(controls, rules.QTREE_SURFACE) == [
        "HV-01: qtree = false, QTREE_SURFACE has it", "HV-10: qtree = true, QTREE_SURFACE lacks it"]


ENTRY = """["HV-01"]
title = "No floppy controller"
risk = 1
severity = "critical"
owner = "template"
references = []
remediation = "Remove it."
"""


CHECKS = 'checks = ["suites/test_host.py::test_kvm_device_is_not_open_to_everyone"]\n'
MALFORMED = {
    CHECKS + 'qtree = "yes"': "control HV-01: qtree 'yes' is not true or false",
    "checks = []": "control HV-01: checks must name at least one check that proves it",
    'checks = ["test_a.py::test_b"]': "control HV-01: checks 'test_a.py::test_b' is not",
    CHECKS + 'template_rule = "rules.floppy"': "control HV-01: template_rule 'rules.floppy' is not",
    'check = ["suites/test_a.py::test_b"]': "control HV-01 lacks checks",
    CHECKS + "qtre = true": "control HV-01: unknown field qtre",
}


def refusal(tmp_path, text):
    """The one line catalog.load refuses a catalog of `text` with."""
    path = tmp_path / "controls.toml"
    path.write_text(text + "\n")
    with pytest.raises(catalog.CatalogError) as raised:
        catalog.load(path)
    return str(raised.value)


@pytest.mark.parametrize("fields", MALFORMED)
def test_a_malformed_field_is_named_in_one_line(tmp_path, fields):
    said = refusal(tmp_path, ENTRY + fields)
    assert said.startswith(MALFORMED[fields]) and "\n" not in said


OWNERLESS = ENTRY.replace('owner = "template"\n', "") + CHECKS
WRONG_OWNER = {
    'owner = "hypervisor"': "control HV-01: owner 'hypervisor' is not one of 'host', 'template', "
                            "'host or template'",
    'owner = "Host"': "control HV-01: owner 'Host' is not one of",
    "owner = 1": "control HV-01: owner 1 is not one of",
    "": "control HV-01 lacks owner",
}


@pytest.mark.parametrize("owner", WRONG_OWNER)
def test_an_unknown_or_missing_owner_is_refused(tmp_path, owner):
    said = refusal(tmp_path, OWNERLESS + owner)
    assert said.startswith(WRONG_OWNER[owner]) and "\n" not in said
