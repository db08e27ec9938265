"""Debian versions compared as dpkg compares them, dpkg itself the oracle."""

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.patches.debversion import DebVersion, compare

# Few distinct characters, so that drawn versions often share prefixes and tie.
UPSTREAM = "0129ab.+~"
REVISION = "019ab.+~"
epochs = st.one_of(st.just(""), st.integers(min_value=0, max_value=3).map("{}:".format))
upstreams = st.tuples(st.sampled_from("0129"), st.text(UPSTREAM + "-", max_size=6)).map("".join)
revisions = st.text(REVISION, min_size=1, max_size=5)


@st.composite
def versions(draw):
    upstream = draw(upstreams)
    # An upstream with a hyphen needs a revision, or its tail would be taken for one.
    revision = draw(revisions if "-" in upstream else st.one_of(st.just(None), revisions))
    return draw(epochs) + upstream + ("" if revision is None else "-" + revision)


def dpkg_says(a, relation, b):
    return subprocess.run(["dpkg", "--compare-versions", a, relation, b]).returncode == 0


def V(text):
    return DebVersion.parse(text)


@pytest.mark.parametrize("lower, higher", [
    ("1:7.2+dfsg-7+deb12u2", "1:7.2+dfsg-7+deb12u18"),
    ("1:7.2+dfsg-7", "1:7.2+dfsg-7+deb12u1"),
    ("1.0~rc1", "1.0"),
    ("1.0~rc1", "1.0~rc2"),
    ("1.0~~", "1.0~"),
    ("2.0", "1:0.1"),
    ("1.0", "1.0a"),
    ("1.0a", "1.0+"),
    ("1.0", "1.0.1"),
    ("9.0.0-1", "9.0.0-1.1"),
    ("6.1.76-1", "6.1.90-1"),
    ("6.1.0-18", "6.1.0-18+b1"),
])
def test_examples_in_order(lower, higher):
    assert compare(lower, higher) == -1
    assert compare(higher, lower) == 1
    assert V(lower) < V(higher)


@pytest.mark.parametrize("a, b", [
    ("1.0", "1.00"), ("1.0", "01.0"), ("0:1.0", "1.0"), ("1.0", "1.0-0"), ("1.0-0", "1.0-00")])
def test_equal_spellings(a, b):
    assert compare(a, b) == 0
    assert V(a) == V(b) and hash(V(a)) == hash(V(b))


def test_parts_and_str():
    v = V("1:7.2+dfsg-7+deb12u18")
    assert (v.epoch, v.upstream, v.revision) == (1, "7.2+dfsg", "7+deb12u18")
    assert str(v) == "1:7.2+dfsg-7+deb12u18"
    assert V("1.0-2-3") == DebVersion(0, "1.0-2", "3")
    assert V(" 2.0 ").upstream == "2.0"


def test_what_dpkg_only_warns_about_is_accepted():
    assert V("a1.0").upstream == "a1.0"
    assert compare("a1.0", "1.0") == 1


@pytest.mark.parametrize("text, problem", [
    ("", "empty"),
    ("   ", "empty"),
    ("1.0 2", "embedded spaces"),
    (":1.0", "epoch"),
    ("a:1.0", "epoch"),
    ("-1:1.0", "epoch"),
    ("99999999999:1.0", "epoch"),
    ("1:", "nothing after the colon"),
    ("1.0-", "revision"),
    ("-1", "upstream version is empty"),
    ("1:-1", "upstream version is empty"),
])
def test_malformed_versions_are_refused(text, problem):
    with pytest.raises(ValueError, match=problem):
        V(text)


@given(versions(), versions())
def test_antisymmetry(a, b):
    assert compare(a, b) == -compare(b, a)


@given(versions(), versions(), versions())
def test_transitivity(a, b, c):
    low, middle, high = sorted((a, b, c), key=V)
    assert compare(low, middle) <= 0 and compare(middle, high) <= 0
    assert compare(low, high) <= 0


@given(versions(), versions())
def test_equal_versions_hash_alike(a, b):
    if compare(a, b) == 0:
        assert hash(V(a)) == hash(V(b))


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is not installed")
@settings(max_examples=200, deadline=None)
@given(versions(), versions())
def test_agrees_with_dpkg(a, b):
    assert dpkg_says(a, "lt", b) == (compare(a, b) == -1)
    assert dpkg_says(a, "gt", b) == (compare(a, b) == 1)
