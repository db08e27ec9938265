# vmiso: `make conformance` checks a template in the local lab; `make test` runs vmiso's own tests
# (unit tests and self-tests); `make test-fast` the unit tests and the hardened and leaky runs;
# `make unit` the unit tests alone, without Debian packages or image.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TEMPLATE ?= hardened
IMAGE ?=
# One or more libvirt URIs (space-separated), e.g. qemu+ssh://root@kvm1/system: real hosts instead
# of the lab; several are tested in one run, each template on each.
LIBVIRT_URI ?=
NETWORK ?=
# On real hosts: management addresses guests must not reach (ADDR[:PORT]) and services they must
# (ADDR:PORT), space-separated; KEEP: the host's own address guests may answer (make nwfilter).
MANAGEMENT_TARGET ?=
ALLOWED_TARGET ?=
KEEP ?=
# The lab's host configuration (hardened, leaky, or system: this machine's own /etc/libvirt);
# the leaky template runs on the leaky host profile by default.
HOST_PROFILE ?= $(if $(filter leaky,$(TEMPLATE)),leaky,hardened)
REPORTS ?= reports
# A folder keeping each run's controls.json by date: the report shows trends and since when.
HISTORY ?=
# Further suite options, e.g. SUITE_OPTS="--fail-on high --baseline last-night/controls.json"
SUITE_OPTS ?=
# Several templates (space-separated names, files, folders, each optionally =IMAGE) make one run of
# every template on every host; SHARD=K/N runs a share of them (see `make merge`).
SHARD ?=
SUITE_ARGS := $(foreach t,$(TEMPLATE),--template $(t)) --report-dir $(REPORTS) \
	$(if $(IMAGE),--image $(IMAGE)) $(if $(HISTORY),--history $(HISTORY)) \
	$(if $(SHARD),--shard $(SHARD)) \
	$(if $(LIBVIRT_URI),$(foreach uri,$(LIBVIRT_URI),--libvirt-uri '$(uri)'),--host-profile \
	$(HOST_PROFILE)) $(if $(NETWORK),--network $(NETWORK)) \
	$(foreach t,$(MANAGEMENT_TARGET),--management-target $(t)) \
	$(foreach t,$(ALLOWED_TARGET),--allowed-target $(t))

.PHONY: conformance preflight test test-fast unit check-templates merge osv-update load bench nwfilter sweep \
	prune deps host venv image clean

conformance: deps host venv image
	$(VENV)/bin/vmiso conformance $(SUITE_ARGS) $(SUITE_OPTS)

# The host alone, no guest, in seconds: the first stage of the host-image gate (this machine's
# own /etc/libvirt, or LIBVIRT_URI's hosts).
preflight: deps host venv
	$(VENV)/bin/vmiso preflight --report-dir $(REPORTS) $(if $(LIBVIRT_URI),$(foreach \
	uri,$(LIBVIRT_URI),--libvirt-uri '$(uri)')) $(SUITE_OPTS)

# The self-tests on every core (WORKERS pytest-xdist workers; tests/support/workers.py says how
# they are shared out), then those marked `alone` by themselves; the exit status is the first that
# failed. test-fast: the unit tests and the hardened and leaky conformance runs with every
# assertion on their reports, a developer's loop of a few minutes.
WORKERS ?= auto
SELFTEST := $(PY) -m pytest -q -n $(WORKERS) --dist loadscope --no-loadscope-reorder
test: deps host venv image
	$(SELFTEST) tests -m "not alone" --junitxml=$(REPORTS)/selftest-junit.xml; first=$$?; \
	$(PY) -m pytest -q tests -m alone --junitxml=$(REPORTS)/selftest-alone-junit.xml; \
	second=$$?; exit $$(( first ? first : second ))

test-fast: deps host venv image
	$(SELFTEST) tests/unit tests/selftest/test_conformance_runs.py

# Pure logic only: a virtual environment of wheels, no root, no libvirt, no guest (seconds).
unit: $(VENV)/.unit-installed
	$(PY) -m pytest tests/unit --confcutdir=tests/unit -q

# Templates judged from their files alone (domain XML or xl.cfg): no lab, no guest, no root,
# no Debian package; report files per template and one SARIF file in $(REPORTS)/static.
TEMPLATES ?= hardened leaky
check-templates: $(VENV)/.unit-installed
	$(VENV)/bin/vmiso check-templates $(TEMPLATES) --report-dir $(REPORTS)/static $(SUITE_OPTS)

# The OSV feeds of the hosts' distributions (LIBVIRT_URI, else this machine's; or ECOSYSTEM=
# 'Debian Rocky-Linux' outright) fetched from osv.dev into osv/feeds, indexed; runs then read them.
ECOSYSTEM ?=
osv-update: venv
	$(VENV)/bin/vmiso osv-update $(foreach uri,$(LIBVIRT_URI),--libvirt-uri '$(uri)') \
	$(if $(ECOSYSTEM),$(foreach e,$(ECOSYSTEM),--ecosystem '$(e)'))

# The reports of a sharded run (--shard K/N), each a report folder, merged into REPORTS.
SHARDS ?=
merge: $(VENV)/.unit-installed
	@test -n "$(SHARDS)" || { echo "make merge: name the shards' report folders, e.g. \
	SHARDS='shard-1 shard-2 shard-3'" >&2; exit 2; }
	$(VENV)/bin/vmiso merge $(SHARDS) --report-dir $(REPORTS) $(if $(HISTORY),--history $(HISTORY))

# 20 guests one after another and 4 at once in one lab: figures in reports/load.json.
load: deps host venv image
	$(PY) -m scripts.load

# What a run costs here, beside a bare QEMU boot of the same kernel: reports/bench.json.
bench: deps host venv image
	$(PY) -m scripts.bench

# The hardened template's traffic filter, defined on each LIBVIRT_URI host for its addresses.
nwfilter: deps venv
	@test -n "$(LIBVIRT_URI)" || { echo "make nwfilter: name the host, e.g. \
	LIBVIRT_URI=qemu+ssh://root@kvm1/system" >&2; exit 2; }
	@$(foreach uri,$(LIBVIRT_URI),$(VENV)/bin/vmiso nwfilter '$(uri)' \
	$(foreach a,$(KEEP),--keep $(a)) &&) true

# What dead runs left on each LIBVIRT_URI host (their marked guests, guest and canary folders)
# removed, as a run's start does; run it from the controller machine that ran them.
sweep: deps venv
	@test -n "$(LIBVIRT_URI)" || { echo "make sweep: name the host, e.g. \
	LIBVIRT_URI=qemu+ssh://root@kvm1/system (qemu:///system: this machine's libvirt; the local \
	lab's leftovers go with the next lab run)" >&2; exit 2; }
	@$(foreach uri,$(LIBVIRT_URI),$(VENV)/bin/vmiso sweep '$(uri)' &&) true

# The image cache of each LIBVIRT_URI host (else this machine's) pruned: copies unused for
# PRUNE_DAYS go, then the least recently used beyond PRUNE_GIB; none used in the last hour.
# Every run that used the cache prunes it so at its end, with the defaults (30 days, 10 GiB).
PRUNE_DAYS ?=
PRUNE_GIB ?=
PRUNE_ARGS := $(if $(PRUNE_DAYS),--max-age-days $(PRUNE_DAYS)) \
	$(if $(PRUNE_GIB),--max-gib $(PRUNE_GIB))
prune: deps venv
	@$(foreach uri,$(or $(LIBVIRT_URI),qemu:///system),$(VENV)/bin/vmiso prune '$(uri)' \
	$(PRUNE_ARGS) &&) true

deps:
	@scripts/install-deps

host: deps
	@scripts/prepare-host

venv: $(VENV)/.installed

# Both install the `vmiso` command as $(VENV)/bin/vmiso: this checkout on the environment's
# path (a .pth file) and a launcher running scripts/vmiso.py with the environment's Python.
define install_vmiso
	echo "$(CURDIR)" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/vmiso.pth"
	printf '#!%s\nimport sys\nfrom scripts.vmiso import main\nsys.exit(main())\n' \
	"$(abspath $(PY))" > $(VENV)/bin/vmiso && chmod 755 $(VENV)/bin/vmiso
endef

$(VENV)/.installed: requirements.txt requirements-unit.txt scripts/vmiso.py | deps
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(install_vmiso)
	touch $@ $(VENV)/.unit-installed

$(VENV)/.unit-installed: requirements-unit.txt scripts/vmiso.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-unit.txt
	$(install_vmiso)
	touch $@

image: deps
	@$(PYTHON) -m guest.build >/dev/null

clean:
	rm -rf $(VENV) .cache $(REPORTS)
