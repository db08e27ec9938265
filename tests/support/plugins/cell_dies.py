"""Fault plugin for self-tests: the cell of the template named `dies` ends its process at once,
as a cell killed by the kernel's OOM killer would, without a report.

    pytest suites --template hardened --template dies.xml -p tests.support.plugins.cell_dies
"""

import json
import os

from helpers.plugin.options import CELL_ENV

EXIT = 137


def pytest_sessionstart(session):
    cell = os.environ.get(CELL_ENV)
    if cell and json.loads(cell)["template"].endswith("/dies.xml"):
        print("the cell's process is killed", flush=True)
        os._exit(EXIT)
