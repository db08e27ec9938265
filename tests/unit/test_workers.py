"""How make test shares the self-tests out among its workers (tests/support/workers.py)."""

import ast
from pathlib import Path

from tests.support.workers import SHARED_HOST, SHARED_HOST_MODULES, work_unit

SELFTESTS = Path(__file__).resolve().parents[1] / "selftest"


def starts_an_sshhost(path):
    return any(isinstance(node, ast.ImportFrom) and node.module == "tests.support.sshhost"
               and "SshHost" in {alias.name for alias in node.names}
               for node in ast.walk(ast.parse(path.read_text())))


def test_every_module_that_makes_this_machine_a_host_is_in_the_shared_unit():
    found = {p.stem for p in SELFTESTS.glob("test_*.py") if starts_an_sshhost(p)}
    assert found == SHARED_HOST_MODULES


def test_a_modules_tests_share_a_unit_and_the_hosts_modules_share_one():
    gate = "tests/selftest/test_gate.py"
    assert work_unit(f"{gate}::test_fail_on[any]") == work_unit(f"{gate}::test_waiver") == gate
    assert work_unit("tests/selftest/test_remote_host.py::test_a[leaky]") == \
        work_unit("tests/selftest/test_stock_host.py::test_1") == SHARED_HOST
    assert work_unit("tests/unit/test_cells.py::test_x") == "tests/unit/test_cells.py"


def test_no_two_test_modules_share_a_name():
    """pytest imports the test folders' modules by their bare name (no __init__.py), so a second
    test_x.py anywhere under tests/ stops the collection of a run that takes both."""
    names = sorted(p.name for p in SELFTESTS.parent.rglob("test_*.py"))
    assert [n for n in set(names) if names.count(n) > 1] == []
