"""Malformed templates never crash the suite: reading, analysing and instantiating one either
works or raises TemplateError, whose message is the one line the user sees."""

import xml.etree.ElementTree as ET
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.template.domxml import Domain, TemplateError
from helpers.template.rules import findings
from helpers.template.throwaway import Throwaway, instantiate

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
SOURCES = [(TEMPLATES / f"{name}.xml").read_text() for name in ("hardened", "leaky")]
# instantiate() only writes these paths into the XML: nothing is made there
SCRATCH = Path("/nonexistent/vmiso-malformed")
SPEC = Throwaway(name="vmiso-m1", mac="52:54:00:00:00:01", overlay=SCRATCH / "o.qcow2",
                 seed=SCRATCH / "seed.tar", network="vmiso-net", scratch_dir=SCRATCH,
                 accelerator="tcg", share_dirs={})
XML_BITS = st.sampled_from(["<", ">", "/>", "</devices>", "<devices>", "<disk device='disk'>",
                            "<interface type='user'/>", "'", '"', "=", "&", "<os/>", "<cpu/>",
                            "<memory>x</memory>", "<target/>", "<driver/>", "<source/>"])


@st.composite
def damaged(draw):
    """A built-in template with slices cut out and XML fragments pasted in."""
    text = draw(st.sampled_from(SOURCES))
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 200)))
        text = text[:start] + draw(st.one_of(XML_BITS, st.text(max_size=8))) + text[end:]
    return text


@st.composite
def pruned(draw):
    """A well-formed template with random elements removed: valid XML, odd domain."""
    root = ET.fromstring(draw(st.sampled_from(SOURCES)))
    elements = [(parent, child) for parent in root.iter() for child in parent]
    for parent, child in draw(st.lists(st.sampled_from(elements), max_size=6, unique=True)):
        if child in list(parent):
            parent.remove(child)
    return ET.tostring(root, encoding="unicode")


def read_analyse_instantiate(text):
    try:
        dom = Domain.from_string(text)
        findings(dom)
        instantiate(dom, SPEC)
    except TemplateError as err:
        assert str(err) and "\n" not in str(err)


@settings(max_examples=300)
@given(damaged())
def test_damaged_template_text_is_read_or_refused_in_one_line(text):
    read_analyse_instantiate(text)


@settings(max_examples=300)
@given(pruned())
def test_template_missing_any_elements_is_read_or_refused_in_one_line(text):
    read_analyse_instantiate(text)
