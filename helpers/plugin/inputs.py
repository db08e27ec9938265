"""The run's inputs, read and checked once before any check runs.

    inputs = read(config)       # raises pytest.UsageError with the problem and the fix
    inputs.template.machine

Bad input is a usage error with one line naming it, never a traceback or a run of errors.
"""

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

from helpers import CHECKOUT
from helpers.output import document, history
from helpers.patches import osv
from helpers.plugin import accel, cells
from helpers.plugin.options import (
    OPT_ACCEPT_EXPOSING,
    OPT_ALLOW_RAW_QEMU,
    OPT_ALLOWED_TARGET,
    OPT_HOST_PROFILE,
    OPT_IMAGE,
    OPT_MANAGEMENT_TARGET,
    OPT_TEMPLATE,
    OPT_URI,
    OPT_WAIVERS,
)
from helpers.policy import policyfile
from helpers.template import exposure, templatefile
from helpers.template.domxml import Domain, TemplateError
from helpers.verdict import catalog, waivers
from helpers.vm import diskimage

TEMPLATES = templatefile.TEMPLATES
OSV_FETCHED = CHECKOUT / "osv" / "feeds"  # make osv-update
OSV_SAMPLE = CHECKOUT / "osv" / "debian-12"
OSV_INDEX = CHECKOUT / ".cache" / "osv-index"  # each feed zip's index, kept between runs

inputs_key = pytest.StashKey["Inputs"]()


@dataclass(frozen=True)
class Inputs:
    template_path: Path
    template: Domain
    policy_path: Path
    policies: policyfile.Policies
    accelerator: str
    image: Optional[Path]
    osv: osv.Database
    waivers: dict  # control id -> waivers.Waiver
    baseline: Optional[dict]  # an earlier run's document (--baseline)
    allowed_targets: tuple = ()  # ("tcp", address, port) a guest on a real host must reach
    management_targets: tuple = ()  # (address, port or None) it must not
    allow_raw_qemu: bool = False  # boot <qemu:commandline>/<qemu:override> (--allow-raw-qemu)
    cells: tuple = ()  # every cell this process tests or drives (helpers/plugin/cells.py)


def read(config):
    """The inputs of this process's cell; where it drives several cells, each cell's template
    and image is checked here, before any runs."""
    cells_of_run = cells.plan(config)
    for cell in cells_of_run[1:]:
        refuse_exposure(cell, read_template(cell.template), config)
        read_image(cell.image)
    path, image = cells_of_run[0].template, cells_of_run[0].image
    template = read_template(path)
    refuse_exposure(cells_of_run[0], template, config)
    policy_file = policyfile.for_template(path, config.getoption("policy"))
    try:
        policies = policyfile.read(policy_file)
    except policyfile.PolicyError as err:
        raise pytest.UsageError(str(err)) from None
    try:
        records = osv.load(config.getoption("osv") or default_feed(), OSV_INDEX)
    except osv.OsvError as err:
        raise pytest.UsageError(str(err)) from None
    try:
        accelerator = config.getoption("accel") if config.getoption("libvirt_uri") \
            else accel.choose_here(config.getoption("accel"))  # a real host's: fixtures/lab.py
    except accel.AcceleratorError as err:
        raise pytest.UsageError(str(err)) from None
    if config.getoption("libvirt_uri") and config.getoption("host_profile") != "hardened":
        raise pytest.UsageError(f"{OPT_HOST_PROFILE} configures the local lab only; drop it with "
                                f"{OPT_URI} (a real host's configuration is what is tested)")
    read_image(image)
    read_history(config)
    return Inputs(path, template, policy_file, policies, accelerator,
                  image.resolve() if image else None, records, read_waivers(config),
                  read_baseline(config), *read_real_host_targets(config),
                  allow_raw_qemu=config.getoption("allow_raw_qemu")
                  or (path.parent == TEMPLATES and cells_of_run[0].uri is None),
                  cells=tuple(cells_of_run))


def default_feed():
    """The feeds make osv-update fetched, else the small sample of Debian 12 records."""
    fetched = OSV_FETCHED.is_dir() and any(OSV_FETCHED.glob("*.zip"))
    return OSV_FETCHED if fetched else OSV_SAMPLE


def read_template(path):
    try:
        return templatefile.read(path).domain
    except OSError as err:
        raise pytest.UsageError(f"{templatefile.unreadable(path, err)}; use {OPT_TEMPLATE} "
                                f"hardened, leaky or the path of a libvirt domain XML or xl.cfg "
                                f"file") from None
    except TemplateError as err:
        raise pytest.UsageError(f"template {path} is not a libvirt domain XML: {err}") from None


def refuse_exposure(cell, template, config):
    """A template that would open a host not vmiso's own to others (helpers/template/exposure.py)
    runs there only when the user accepts it; the local lab runs it as written."""
    if cell.uri is None or config.getoption("accept_exposing_template"):
        return
    found = exposure.host_exposures(template)
    if found:
        raise pytest.UsageError(
            f"template {cell.template} would open {cell.uri} to others ({'; '.join(found)}); "
            f"run it in the local lab (no {OPT_URI}), or accept it there with "
            f"{OPT_ACCEPT_EXPOSING}: its displays then listen on loopback alone, and its raw QEMU "
            f"arguments run only with {OPT_ALLOW_RAW_QEMU}")


def read_image(image):
    if image is None:
        return
    if not image.is_file():
        raise pytest.UsageError(f"image {image} does not exist; pass an existing qcow2 or raw "
                                f"disk image to {OPT_IMAGE} (or after {OPT_TEMPLATE} NAME=)")
    try:
        diskimage.validate(image)
    except diskimage.ImageError as err:
        raise pytest.UsageError(str(err)) from None


def read_real_host_targets(config):
    allowed = config.getoption("allowed_target")
    management = config.getoption("management_target")
    if (allowed or management) and not config.getoption("libvirt_uri"):
        option = OPT_ALLOWED_TARGET if allowed else OPT_MANAGEMENT_TARGET
        raise pytest.UsageError(f"{option} names a real host's neighbours; give it with "
                                f"{OPT_URI} (the local lab has its own uplink and management "
                                f"network)")
    return (tuple(("tcp", *endpoint(v, OPT_ALLOWED_TARGET, True)) for v in allowed),
            tuple(endpoint(v, OPT_MANAGEMENT_TARGET, False) for v in management))


def endpoint(value, option, port_required):
    """(address, port) from 'ADDR:PORT' (or 'ADDR' where the port is optional: port None)."""
    address, colon, port = value.partition(":")
    try:
        ipaddress.IPv4Address(address)
        number = int(port) if colon else None
        if (number is None and port_required) or (number is not None and
                                                   not 0 < number < 65536):
            raise ValueError(value)
    except ValueError:
        form, example = ("ADDR:PORT", ":443") if port_required else ("ADDR[:PORT]", "")
        raise pytest.UsageError(f"{option} {value!r} is not {form}; give an IPv4 address"
                                f"{' and a TCP port' if port_required else ''}, e.g. "
                                f"{option} 10.0.0.5{example}") from None
    return address, number


def read_waivers(config):
    path = config.getoption("waivers")
    if not path:
        return {}
    try:
        return waivers.load(Path(path), set(catalog.load()), datetime.date.today())
    except waivers.WaiverError as err:
        raise pytest.UsageError(f"{OPT_WAIVERS}: {err}") from None


def read_history(config):
    folder = config.getoption("history")
    if folder:
        try:
            history.check(Path(folder))
        except history.HistoryError as err:
            raise pytest.UsageError(str(err)) from None


def read_baseline(config):
    path = config.getoption("baseline")
    if not path:
        return None
    try:
        return document.load(path)
    except document.DocumentError as err:
        raise pytest.UsageError(str(err)) from None


def pytest_sessionstart(session):
    session.config.stash[inputs_key] = read(session.config)
