"""rpm versions ordered as rpm orders them (the Red Hat family's OSV records), rpm itself the
oracle: thousands of pairs compared by rpm's own rpmvercmp in one call."""

import random
import shutil
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.patches.order import rpm_version, version_parser

PIECES = ["0", "1", "2", "9", "10", "01", "el9", "el9_4", "a", "b", "rc1", "~rc1", "^post",
          "~", "^", ".", "_", "+", "git", "fc39", "1.1", "3.el9_3.1", "module+el9.4.0"]


def version(rng):
    text = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 5))).strip("-")
    return text if text[0].isalnum() else "1" + text


def evr(rng):
    epoch = rng.choice(["", "", "1:", "17:"])
    release = rng.choice(["", "-" + version(rng)])
    return f"{epoch}{version(rng)}{release}"


def rpm_says(pairs, folder):
    """rpm's vercmp of each pair, in one rpm process."""
    script = folder / "pairs.lua"
    script.write_text("\n".join(f'print(rpm.vercmp("{a}", "{b}") .. " ")' for a, b in pairs))
    out = subprocess.run(["rpm", "--eval", f'%{{lua: dofile("{script}") }}'],
                         capture_output=True, text=True, check=True).stdout.split()
    return [int(x) for x in out]


def sign(a, b):
    return (a > b) - (a < b)


@pytest.mark.skipif(shutil.which("rpm") is None, reason="rpm is not installed (make deps)")
def test_agrees_with_rpm_on_thousands_of_pairs(tmp_path):
    rng = random.Random(19)
    pairs = [(evr(rng), evr(rng)) for _ in range(3000)]
    pairs += [(a, a) for a, _ in pairs[:100]]
    expected = rpm_says(pairs, tmp_path)
    ours = [sign(rpm_version(a), rpm_version(b)) for a, b in pairs]
    wrong = [(a, b, e, o) for (a, b), e, o in zip(pairs, expected, ours) if e != o]
    assert not wrong, wrong[:10]


@pytest.mark.parametrize("older, newer", [
    ("5.14.0-427.13.1.el9_4", "5.14.0-427.16.1.el9_4"),
    ("17:8.2.0-11.el9_4", "17:8.2.0-11.el9_4.1"),
    ("8.2.0-11.el9_4", "1:7.0-1"),
    ("1.0~rc1-1", "1.0-1"),
    ("9.0.0-10.el9", "9.0.0-10.el9_2.1"),
])
def test_known_orders(older, newer):
    assert rpm_version(older) < rpm_version(newer)


@pytest.mark.parametrize("text", ["", "a:1.0", "1.0-", "-1", "1 .0"])
def test_malformed_versions_are_value_errors(text):
    with pytest.raises(ValueError, match="not an rpm version"):
        rpm_version(text)


@pytest.mark.parametrize("ecosystem, order", [
    ("Debian:12", "DebVersion"), ("Ubuntu:22.04:LTS", "DebVersion"),
    ("Rocky Linux:9", "rpm"), ("AlmaLinux:9", "rpm"),
    ("Red Hat:enterprise_linux:9::appstream", "rpm"), ("PyPI", None)])
def test_each_ecosystem_has_its_distribution_order(ecosystem, order):
    parser = version_parser(ecosystem)
    assert (parser is None) if order is None else order in parser.__qualname__ + parser.__name__


@given(st.lists(st.sampled_from(["1.0-1", "1.0-2.el9", "2:0.1-1", "1.0~b-1", "1.0^a-1",
                                 "1.10-1", "1.9-1"]), min_size=2, max_size=6))
def test_sorting_is_a_total_order(texts):
    ordered = sorted(rpm_version(t) for t in texts)
    assert all(a <= b for a, b in zip(ordered, ordered[1:]))
