"""The mutation matrix (tests/support/mutations.toml): every control has a change that must make it
fail. Each template mutation is proven on the XML analysis alone, then all of them, with the
leaky host profile and policy, in one run of the suite that must fail every such control."""

import pytest

from helpers.template import rules
from helpers.template.domxml import Domain
from helpers.verdict import catalog
from tests.support import matrix
from tests.support.suite import ROOT, run_suite, statuses

MATRIX = matrix.load()
HARDENED = (ROOT / "templates" / "hardened.xml").read_text()
RUNNABLE = {cid for cid, m in MATRIX.items() if m.kind != "static"}


def test_every_catalog_control_has_a_mutation():
    assert set(MATRIX) == set(catalog.load())


@pytest.mark.parametrize("control", sorted(c for c, m in MATRIX.items()
                                           if m.is_template or m.kind == "static"))
def test_template_mutation_alone_breaks_its_control_in_the_xml(control):
    mutation = MATRIX[control]
    if mutation.kind == "static":
        pytest.skip(f"{control}: {mutation.value}; see tests/unit/test_rules.py")
    if control not in rules.STATIC:
        pytest.skip(f"{control} has no XML rule; the mutated run proves it")
    dom = Domain.from_string(matrix.apply(HARDENED, [mutation]))
    assert rules.findings(dom)[control], mutation.description


@pytest.fixture(scope="module")
def mutated_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mutated")
    template = folder / "mutated.xml"
    template.write_text(matrix.apply(HARDENED, MATRIX.values()))
    proc, report = run_suite(folder / "report", "suites", "--template", str(template),
                             "--host-profile", "leaky", "--policy", "policies/leaky.toml",
                             "--allow-raw-qemu")  # MGT-02's monitor is raw QEMU
    return proc, statuses(report)


def test_mutated_run_fails_every_runnable_control(mutated_run):
    proc, status = mutated_run
    not_failed = {cid: status.get(cid, "absent") for cid in RUNNABLE
                  if status.get(cid) != "fail"}
    assert not not_failed, proc.stdout[-3000:]
    print(f"controls proven falsifiable by a run: {len(RUNNABLE)} of {len(MATRIX)}")
