"""The mutation matrix (tests/support/mutations.toml): every control has a change that must make it
fail. Each template mutation is proven on the XML analysis alone, then all of them, with the
leaky host profile and policy, in one run of the suite that must fail every such control."""

import pytest

from helpers.policy import policyfile
from helpers.template import rules
from helpers.template.domxml import Domain
from helpers.verdict import catalog
from tests.support import matrix
from tests.support.suite import ROOT, run_suite, statuses, why

MATRIX = matrix.load()
HARDENED = (ROOT / "templates" / "hardened.xml").read_text()
RUNNABLE = {cid for cid, m in MATRIX.items() if m.kind not in ("static", "simulated")}
ALLOWED = policyfile.read(policyfile.DEFAULT).allowed_devices
# HV-09's mutation: every device it adds must be named by QEMU's device tree in the mutated run.
HV09_DEVICES = ("lsi53c895a", "megasas", "mptsas1068", "pvscsi", "am53c974", "ati-vga",
                "sdhci-pci", "nvme", "ivshmem-plain")


def test_every_catalog_control_has_a_mutation():
    assert set(MATRIX) == set(catalog.load())


# Template mutations of controls with an XML rule; a static-only mutation is proven by
# tests/unit/test_rules.py, a control without an XML rule by the mutated run below.
XML_PROVEN = sorted(c for c, m in MATRIX.items()
                    if m.is_template and (c in rules.STATIC or c in rules.WITH_ALLOWLIST))


def test_every_template_mutation_is_proven_by_the_xml_or_the_run():
    template = {c for c, m in MATRIX.items() if m.is_template}
    assert template <= set(XML_PROVEN) | RUNNABLE, template - set(XML_PROVEN) - RUNNABLE


@pytest.mark.parametrize("control", XML_PROVEN)
def test_template_mutation_alone_breaks_its_control_in_the_xml(control):
    mutation = MATRIX[control]
    dom = Domain.from_string(matrix.apply(HARDENED, [mutation]))
    assert rules.findings(dom, ALLOWED)[control], mutation.description


@pytest.fixture(scope="module")
def mutated_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mutated")
    template = folder / "mutated.xml"
    template.write_text(matrix.apply(HARDENED, MATRIX.values()))
    proc, report = run_suite(folder / "report", "suites", "--template", str(template),
                             "--host-profile", "leaky", "--policy", "policies/leaky.toml",
                             "--allow-raw-qemu")  # MGT-02's monitor is raw QEMU
    return proc, statuses(report), report


def test_mutated_run_fails_every_runnable_control(mutated_run):
    _, status, report = mutated_run
    not_failed = {cid: status.get(cid, "absent") for cid in RUNNABLE
                  if status.get(cid) != "fail"}
    assert not not_failed, why(report, not_failed)
    print(f"controls proven falsifiable by a run: {len(RUNNABLE)} of {len(MATRIX)}")


def test_hv09_names_every_device_the_mutation_adds_in_qemus_tree(mutated_run):
    _, _, report = mutated_run
    hv09 = next(c for c in report["controls"] if c["id"] == "HV-09")
    live = next(e for e in hv09["evidence"] if e["what"].startswith("QMP info qtree"))
    named = set(live["observed"].split(", "))
    assert set(HV09_DEVICES) <= named, live["observed"]
