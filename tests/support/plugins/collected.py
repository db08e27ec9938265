"""Write the checks a run selected, with their controls, to $VMISO_COLLECTED (JSON), for the
selection self-tests:

    VMISO_COLLECTED=out.json pytest suites --collect-only -q --risk 4 \
        -p tests.support.plugins.collected
"""

import json
import os


def pytest_collection_finish(session):
    selected = {item.nodeid: [cid for mark in item.iter_markers("control") for cid in mark.args]
                for item in session.items}
    with open(os.environ["VMISO_COLLECTED"], "w") as out:
        json.dump(selected, out)
