"""--control, --risk and --severity: values read in the catalog's order, unknown ones refused
with what is known, and a control admitted only where every option given admits it."""

import pytest

from helpers.plugin import selection
from helpers.verdict import catalog

CATALOG = catalog.load()


class Config:
    def __init__(self, control=(), risk=(), severity=()):
        self.options = {"control": list(control), "risk": list(risk), "severity": list(severity)}

    def getoption(self, name):
        return self.options[name]


def test_no_option_selects_nothing_and_admits_every_control():
    assert selection.given(Config(), CATALOG) == {}
    assert selection.admitted(CATALOG, {}) == set(CATALOG)


def test_values_are_split_on_commas_deduplicated_and_put_in_the_catalogs_order():
    wanted = selection.given(Config(control=["NET-02, HV-01", "NET-02"], risk=["4,1"],
                                    severity=["low,critical"]), CATALOG)
    assert wanted == {"controls": ["HV-01", "NET-02"], "risks": [1, 4],
                      "severities": ["critical", "low"]}


@pytest.mark.parametrize("config, message", [
    (Config(control=["HV-01,XX-99"]), "--control XX-99: no such control in catalog/controls.toml"),
    (Config(risk=["9", "two"]), "--risk 9, two: not a risk factor 1-7"),
    (Config(severity=["urgent"]), "--severity urgent: not a severity (critical"),
])
def test_an_unknown_value_is_a_usage_error_naming_it(config, message):
    with pytest.raises(pytest.UsageError, match="^" + message.replace("(", r"\(")):
        selection.given(config, CATALOG)


def test_a_control_is_admitted_only_where_every_option_admits_it():
    wanted = {"controls": ["HV-01", "NET-02", "ESC-01"], "risks": [4, 2],
              "severities": ["critical"]}
    assert selection.admitted(CATALOG, wanted) == {"NET-02", "ESC-01"}
