"""The batch of read-only guest readings: each command's output comes back whole, under its own
name, and a failed or missing reading raises instead of reading as empty."""

import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.verdict.undecided import Undecided
from helpers.vm import readings

NONCE = "0123456789ab"
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)
outputs = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
                  max_size=200).map(lambda t: t if t.endswith("\n") or not t else t + "\n")


def framed(results):
    """What the batch prints: each command's output between its marker lines."""
    return "".join(f"@@{NONCE} {name}\n{out}@@{NONCE} {name} rc={rc}\n"
                   for name, (out, rc) in results.items())


@given(st.dictionaries(names, outputs, min_size=1, max_size=8))
def test_every_output_comes_back_under_its_own_name(texts):
    commands = {name: "true" for name in texts}
    got = readings.parse(framed({n: (t, 0) for n, t in texts.items()}), NONCE, commands)
    assert {name: got.text(name) for name in texts} == texts


@given(st.dictionaries(names, outputs, min_size=2, max_size=6), st.data())
def test_a_failed_command_raises_and_the_others_still_read(texts, data):
    failed = data.draw(st.sampled_from(sorted(texts)))
    commands = {name: "cmd" for name in texts}
    got = readings.parse(framed({n: (t, 1 if n == failed else 0) for n, t in texts.items()}),
                         NONCE, commands)
    with pytest.raises(Undecided, match=f"reading '{failed}'"):
        got.text(failed)
    for name in set(texts) - {failed}:
        assert got.text(name) == texts[name]


def test_output_that_never_came_back_raises():
    got = readings.parse(f"@@{NONCE} pci\n00:01.0 1af4 1000 020000\n", NONCE,
                         {"pci": "x", "dev": "y"})
    for name in ("pci", "dev"):
        with pytest.raises(Undecided, match="never came back"):
            got.text(name)


def test_output_cannot_forge_another_readings_frame():
    """A guest file that prints a marker without the run's nonce stays inside its own reading."""
    forged = "@@ffffffffffff dev\nfd0\n@@ffffffffffff dev rc=0\n"
    output = framed({"dmi": (forged, 0), "dev": ("null\nzero\n", 0)})
    got = readings.parse(output, NONCE, {"dmi": "x", "dev": "y"})
    assert got.text("dev") == "null\nzero\n"
    assert got.text("dmi") == forged


def test_the_script_runs_each_command_in_its_own_frame():
    commands = {"ok": "echo one; echo two", "fails": "echo partial; false", "empty": "true"}
    out = subprocess.run(["sh", "-c", readings.script(NONCE, commands)], capture_output=True,
                         text=True).stdout
    got = readings.parse(out, NONCE, commands)
    assert got.text("ok") == "one\ntwo\n"
    assert got.text("empty") == ""
    with pytest.raises(Undecided, match="exited 1"):
        got.text("fails")
