"""Self-tests: the CI examples of docs/ci/ work in a template repository that is not vmiso's
clone. Each example's `vmiso check-templates` line runs as written (vmiso's path aside) in a
throwaway git repository holding the hardened and leaky templates: the leaky one fails the job,
the SARIF file is valid and names every template by a path in that repository, and the JUnit
files lie where the example hands them to the code host. No guest, no libvirt: about a second.
"""

import glob
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from helpers import CHECKOUT
from tests.unit.test_sarif import validate

EXAMPLES = CHECKOUT / "docs" / "ci"
VMISO = "$VMISO_DIR/.venv/bin/vmiso"  # how the examples name the vmiso command
TEMPLATES = ("hardened", "leaky")


def strings(node):
    """Every string in a YAML document, depth first."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def check_templates_line(document):
    """The one `vmiso check-templates` command line of a CI file, its continuations joined."""
    found = [line for text in strings(document)
             for line in text.replace("\\\n", " ").splitlines() if "check-templates" in line]
    assert len(found) == 1, found
    return found[0]


def steps_using(document, action):
    return [step for job in document["jobs"].values() for step in job["steps"]
            if step.get("uses", "").startswith(action)]


def template_repository(folder, where):
    """A git repository at `folder` with the built-in templates committed in its folder `where`."""
    (folder / where).mkdir(parents=True)
    for name in TEMPLATES:
        shutil.copy(CHECKOUT / "templates" / f"{name}.xml", folder / where / f"{name}.xml")
    git = ["git", "-C", str(folder), "-c", "user.name=vmiso", "-c", "user.email=vmiso@localhost",
           "-c", "commit.gpgsign=false"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "templates"]):
        subprocess.run(git + args, check=True, capture_output=True)
    return folder


def run_example(name, tmp_path):
    """(the example's YAML, its command's words, the repository, the finished command)."""
    document = yaml.safe_load((EXAMPLES / name).read_text())
    words = shlex.split(check_templates_line(document))
    assert words[:2] == [VMISO, "check-templates"], words
    assert not any("$" in w for w in words[2:]), f"{name}: only {VMISO} is substituted: {words}"
    folders = [w for w in words[2:] if not w.startswith("-") and w.endswith("/")]
    assert len(folders) == 1, f"{name}: one folder of templates, as the test builds it: {words}"
    repo = template_repository(tmp_path / "template repo", folders[0])
    env = {**os.environ, "PYTHONPATH": str(CHECKOUT)}
    done = subprocess.run([sys.executable, "-m", "scripts.vmiso", *words[1:]], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=60)
    return document, words, repo, done


@pytest.fixture(scope="module", params=["github-actions.yml", "gitlab-ci.yml"])
def example(request, tmp_path_factory):
    """Each example run once, for the assertions below."""
    return (request.param, *run_example(request.param, tmp_path_factory.mktemp("ci")))


def report_dir(words):
    return Path(words[words.index("--report-dir") + 1])


def test_the_leaky_template_fails_the_job(example):
    name, _, _, _, done = example
    assert done.returncode == 1, (name, done.stdout, done.stderr)
    assert "leaky.xml: FAIL" in done.stdout and "hardened.xml: pass" in done.stdout


def test_the_sarif_names_each_template_by_its_path_in_the_repository(example):
    name, document, words, repo, _ = example
    sarif_file = repo / report_dir(words) / "vmiso.sarif"
    if name == "github-actions.yml":
        [upload] = steps_using(document, "github/codeql-action/upload-sarif")
        assert upload["if"] == "always()"
        assert repo / upload["with"]["sarif_file"] == sarif_file
    log = json.loads(sarif_file.read_text())
    validate(log)
    [run] = log["runs"]
    base = run["originalUriBaseIds"]["SRCROOT"]["uri"]
    assert base.endswith("/") and Path(unquote(urlsplit(base).path)).resolve() == repo.resolve()
    artifacts = [a["location"] for a in run["artifacts"]]
    assert len(artifacts) == len(TEMPLATES)
    places = artifacts + [r["locations"][0]["physicalLocation"]["artifactLocation"]
                          for r in run["results"]]
    for place in places:
        assert place["uriBaseId"] == "SRCROOT" and not urlsplit(place["uri"]).scheme
        assert not place["uri"].startswith(("/", "./")), place
        assert (repo / unquote(place["uri"])).is_file(), place
    for result in run["results"]:
        where = result["locations"][0]["physicalLocation"]
        lines = (repo / unquote(where["artifactLocation"]["uri"])).read_text().splitlines()
        assert artifacts[where["artifactLocation"]["index"]]["uri"] == \
            where["artifactLocation"]["uri"]
        assert 1 <= where["region"]["startLine"] <= len(lines), result


def test_the_junit_files_lie_where_the_example_hands_them_over(example):
    name, document, words, repo, _ = example
    wanted = {repo / report_dir(words) / t / "junit.xml" for t in TEMPLATES}
    if name == "gitlab-ci.yml":
        [job] = document.values()
        assert job["artifacts"]["when"] == "always"
        found = {repo / f for f in glob.glob(job["artifacts"]["reports"]["junit"], root_dir=repo)}
    else:
        [keep] = steps_using(document, "actions/upload-artifact")
        assert keep["if"] == "always()"
        found = {p for p in (repo / keep["with"]["path"]).rglob("junit.xml")}
    assert found == wanted
