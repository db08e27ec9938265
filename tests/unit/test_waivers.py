"""Waiver files: read or refused in one line, never a crash; active until their expiry date."""

import datetime

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.verdict.verdicts import after_waiver
from helpers.verdict.waivers import WaiverError, load

CONTROLS = {"ESC-04", "PAT-03", "HV-01"}
TODAY = datetime.date(2026, 11, 26)


def write(tmp_path, text):
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    return path


def entry(control="ESC-04", expires="2027-01-31", **extra):
    return {"control": control, "reason": "no SELinux in the lab", "owner": "platform",
            "expires": expires, **extra}


def test_waiver_is_active_until_and_including_its_expiry_day(tmp_path):
    path = write(tmp_path, yaml.safe_dump([entry(expires="2026-11-26")]))
    assert load(path, CONTROLS, TODAY)["ESC-04"].active
    assert not load(path, CONTROLS, TODAY + datetime.timedelta(days=1))["ESC-04"].active


def test_a_past_expiry_is_read_as_expired_not_refused(tmp_path):
    path = write(tmp_path, yaml.safe_dump([entry(expires="2020-01-01")]))
    waiver = load(path, CONTROLS, TODAY)["ESC-04"]
    assert not waiver.active and waiver.as_dict()["expires"] == "2020-01-01"


@pytest.mark.parametrize("text, message", [
    ("- control: ESC-04\n  reason: [unclosed", "is not valid YAML"),
    ("control: ESC-04", "must be a list of entries"),
    (yaml.safe_dump([entry(owner="")]), "lacks owner"),
    (yaml.safe_dump([{"control": "ESC-04"}]), "lacks reason, owner, expires"),
    (yaml.safe_dump([entry(control="XX-01")]), "no control 'XX-01' in the catalog"),
    (yaml.safe_dump([entry(expires="next tuesday")]), "is not a date; write YYYY-MM-DD"),
    ("- {control: ESC-04, reason: r, owner: o, expires: 2026-13-45}",
     "names a date that does not exist .month must be in 1..12.; write expires as a real"),
    (yaml.safe_dump([entry(), entry()]), "ESC-04 is waived twice"),
    (yaml.safe_dump(["ESC-04"]), "is not a mapping"),
])
def test_malformed_waiver_file_is_one_clear_line(text, message, tmp_path):
    with pytest.raises(WaiverError, match=message) as raised:
        load(write(tmp_path, text), CONTROLS, TODAY)
    assert "\n" not in str(raised.value)


def test_missing_waiver_file_names_the_fix(tmp_path):
    with pytest.raises(WaiverError, match="pass an existing YAML file"):
        load(tmp_path / "nope.yaml", CONTROLS, TODAY)


values = st.one_of(st.none(), st.text(max_size=12), st.integers(), st.dates(),
                   st.sampled_from(sorted(CONTROLS)), st.lists(st.text(max_size=4), max_size=2))
entries = st.dictionaries(st.sampled_from(["control", "reason", "owner", "expires", "x"]), values)


@settings(max_examples=300)
@given(st.one_of(st.lists(st.one_of(entries, values), max_size=4), values,
                 st.text(max_size=60)))
def test_any_waiver_file_is_read_or_refused_never_a_crash(tmp_path_factory, document):
    folder = tmp_path_factory.mktemp("w")
    text = document if isinstance(document, str) else yaml.safe_dump(document)
    try:
        waivers = load(write(folder, text), CONTROLS, TODAY)
    except WaiverError as err:
        assert "\n" not in str(err)
        return
    assert set(waivers) <= CONTROLS


@given(st.sampled_from(["pass", "fail", "error", "drift", "mitigated", "not_applicable"]),
       st.booleans())
def test_a_waiver_turns_only_failures_into_waived_never_an_error(status, active):
    waived = after_waiver(status, active)
    assert waived == ("waived" if active and status in ("fail", "drift") else status)
