"""--control, --risk and --severity: the controls a run checks; --preflight: the checks that
judge the host without a guest.

    wanted = given(config, catalog)   # {"controls": ["HV-01", "NET-02"], "risks": [4]}
    admitted(catalog, wanted)         # {"NET-02"}: the controls every option given admits
    in_preflight(item.fixturenames, ["HV-10"], catalog)   # True: the host's KVM, no guest

Each option may be repeated and takes comma-separated values; an unknown value is a usage error
that lists what is known. The report plugin deselects the checks of no admitted control and
records `wanted` in the report (helpers/output/document.py, "selection").
"""

import pytest

from helpers.verdict import catalog as catalog_mod


def given(config, catalog):
    """The selection options as given, checked: {"controls": [...], "risks": [...], ...}, each
    in the catalog's order; empty when none was given."""
    chosen = {}
    for option, key, known, parse, meaning in (
            ("control", "controls", list(catalog), str,
             f"no such control in catalog/controls.toml (known: {', '.join(catalog)})"),
            ("risk", "risks", list(catalog_mod.RISK_FACTORS), _risk, "not a risk factor 1-7"),
            ("severity", "severities", list(catalog_mod.SEVERITIES), str,
             f"not a severity ({', '.join(catalog_mod.SEVERITIES)})")):
        values = [v.strip() for value in config.getoption(option) for v in value.split(",")
                  if v.strip()]
        if not values:
            continue
        parsed = [parse(v) for v in values]
        unknown = [v for v, p in zip(values, parsed) if p not in known]
        if unknown:
            raise pytest.UsageError(f"--{option} {', '.join(unknown)}: {meaning}")
        chosen[key] = sorted(set(parsed), key=known.index)
    return chosen


def admitted(catalog, wanted):
    """The IDs of the controls that every option in `wanted` admits."""
    return {cid for cid, control in catalog.items()
            if cid in wanted.get("controls", [cid])
            and control.risk in wanted.get("risks", [control.risk])
            and control.severity in wanted.get("severities", [control.severity])}


# The fixtures that boot a guest of the template (or read one): a check that uses any of them,
# directly or through another fixture, needs a guest.
GUEST_FIXTURES = frozenset({"guest", "guests", "sibling", "qemu_process", "base_image",
                            "canaries", "clipboard", "spoof_capture"})


def in_preflight(fixturenames, controls, catalog):
    """Whether a check belongs to a preflight: it needs no guest, and judges a control the host
    answers for (alone, or with the template); a check of the template alone is the static
    run's (vmiso check-templates)."""
    return not GUEST_FIXTURES & set(fixturenames) and \
        any("host" in catalog[cid].owner for cid in controls)


def _risk(value):
    return int(value) if value.isdigit() else value
