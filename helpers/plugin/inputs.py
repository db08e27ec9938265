"""The run's inputs, read and checked once before any check runs.

    inputs = read(config)       # raises pytest.UsageError with the problem and the fix
    inputs.template.machine

Bad input is a usage error with one line naming it, never a traceback or a run of errors.
"""

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

from helpers.host import accel
from helpers.output import document
from helpers.patches import osv
from helpers.patches.versions import Policies, PolicyError, load_policies
from helpers.plugin.options import OPT_HOST_PROFILE, OPT_IMAGE, OPT_TEMPLATE, OPT_URI
from helpers.template.domxml import Domain, TemplateError
from helpers.verdict import catalog, waivers
from helpers.vm import diskimage

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
POLICIES = ROOT / "policies"
OSV_DEFAULT = ROOT / "osv"

inputs_key = pytest.StashKey["Inputs"]()


@dataclass(frozen=True)
class Inputs:
    template_path: Path
    template: Domain
    policy_path: Path
    policies: Policies
    accelerator: str
    image: Optional[Path]
    osv: osv.Database
    waivers: dict  # control id -> waivers.Waiver
    baseline: Optional[dict]  # an earlier run's document (--baseline)


def read(config):
    path = template_path(config)
    try:
        template = Domain.from_string(path.read_text())
    except OSError:
        raise pytest.UsageError(f"template {path} cannot be read; use {OPT_TEMPLATE} hardened, "
                                f"leaky or the path of a libvirt domain XML file") from None
    except TemplateError as err:
        raise pytest.UsageError(f"template {path} is not a libvirt domain XML: {err}") from None
    policy_file = policy_path(config)
    try:
        policies = load_policies(policy_file)
    except PolicyError as err:
        raise pytest.UsageError(str(err)) from None
    try:
        records = osv.load(config.getoption("osv") or OSV_DEFAULT)
    except osv.OsvError as err:
        raise pytest.UsageError(str(err)) from None
    try:
        accelerator = accel.choose(config.getoption("accel"))
    except accel.AcceleratorError as err:
        raise pytest.UsageError(str(err)) from None
    if config.getoption("libvirt_uri") and config.getoption("host_profile") != "hardened":
        raise pytest.UsageError(f"{OPT_HOST_PROFILE} configures the local lab only; drop it with "
                                f"{OPT_URI} (a real host's configuration is what is tested)")
    image = config.getoption("image")
    if image and not Path(image).is_file():
        raise pytest.UsageError(f"image {image} does not exist; pass an existing qcow2 or raw "
                                f"disk image to {OPT_IMAGE}")
    if image:
        try:
            diskimage.validate(Path(image))
        except diskimage.ImageError as err:
            raise pytest.UsageError(str(err)) from None
    return Inputs(path, template, policy_file, policies, accelerator,
                  Path(image).resolve() if image else None, records, read_waivers(config),
                  read_baseline(config))


def read_waivers(config):
    path = config.getoption("waivers")
    if not path:
        return {}
    try:
        return waivers.load(Path(path), set(catalog.load()), datetime.date.today())
    except waivers.WaiverError as err:
        raise pytest.UsageError(str(err)) from None


def read_baseline(config):
    path = config.getoption("baseline")
    if not path:
        return None
    try:
        return document.load(path)
    except document.DocumentError as err:
        raise pytest.UsageError(str(err)) from None


def template_path(config):
    value = config.getoption("template")
    builtin = TEMPLATES / f"{value}.xml"
    return builtin if builtin.exists() else Path(value)


def policy_path(config):
    value = config.getoption("policy")
    if value:
        return Path(value)
    named = POLICIES / f"{template_path(config).stem}.toml"
    return named if named.exists() else POLICIES / "default.toml"


def pytest_sessionstart(session):
    session.config.stash[inputs_key] = read(session.config)
