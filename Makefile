# wsproxy.nginx: every target installs what it needs (run as root on Debian 12 or 13).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT := $(abspath .)
VENV := $(ROOT)/.venv
BIN := $(VENV)/bin
PYTHON ?= python3
TMP := $(ROOT)/.tmp
# Ansible finds this checkout as wsproxy.nginx through a symlink, next to the collections bundled in `ansible`.
COLLECTIONS := $(TMP)/collections
SANITY_ROOT := $(TMP)/sanity/ansible_collections/wsproxy/nginx
APT_PACKAGES := podman runc debootstrap shellcheck nginx-light rsync git make python3-venv
SCENARIOS ?= $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml))))

export CONTAINERS_CONF := $(ROOT)/tests/containers.conf
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_FORCE_COLOR ?= 0
export PATH := $(BIN):$(PATH)

.PHONY: help deps venv images collection demo demo-clean test sanity lint unit galaxy galaxy-import galaxy-core molecule bench bench-smoke clean \
	matrix matrix-oldest matrix-newest

help:
	@echo "make demo   - set everything up and run nginx_info against a local Debian 12 container"
	@echo "make test   - set everything up and run every test (sanity, lint, unit, molecule)"
	@echo "make bench  - fleet run time, live WebSockets through changes, large configs (benchmarks/results)"
	@echo "other targets: demo-clean deps venv images sanity lint unit matrix galaxy runner molecule bench-smoke clean"

deps: $(TMP)/.deps
$(TMP)/.deps:
	@mkdir -p $(TMP)
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "[deps] apt-get install $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@touch $@

venv: $(BIN)/.installed
$(BIN)/.installed: requirements.txt requirements-dev.txt | $(TMP)/.deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

collection: $(COLLECTIONS)/ansible_collections/wsproxy/nginx
$(COLLECTIONS)/ansible_collections/wsproxy/nginx:
	@mkdir -p $(dir $@)
	ln -sfn $(ROOT) $@

images: deps
	tests/images/build.sh

demo: venv images collection
	$(BIN)/ansible-playbook -i tests/demo/inventory.yml tests/demo/demo.yml

demo-clean:
	podman rm -f wsproxy-demo

sanity: venv
	@rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_ROOT)
	rsync -a --exclude .venv --exclude .tmp --exclude .ansible $(ROOT)/ $(SANITY_ROOT)/
	@# ansible-test bootstraps pip in its venvs with a script from a host we cannot reach: use ours.
	pip_version=$$($(BIN)/python -c 'from ansible_test._internal.python_requirements import get_venv_packages; from ansible_test._internal.host_configs import NativePythonConfig as C; print(get_venv_packages(C(version="3", path="$(BIN)/python"))["pip"])' 2>/dev/null || echo 24.2); \
	  mkdir -p ~/.ansible/test/cache && install -m 0644 tests/sanity/get_pip.py ~/.ansible/test/cache/get_pip_$${pip_version//./_}.py
	cd $(SANITY_ROOT) && $(BIN)/ansible-test sanity --requirements --python $$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])') --color no

lint: venv collection
	$(BIN)/ansible-lint --offline
	$(BIN)/antsibull-changelog lint
	@# Plugin, module and role docs as the docsite renders them: markup, O()/RV()/M() references (to this
	@# collection and ansible.builtin; any other is refused), schema. It needs an ansible_collections tree.
	$(BIN)/antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs dependent \
	  --disallow-unknown-collection-refs $(COLLECTIONS)/ansible_collections/wsproxy/nginx

unit: venv collection
	PYTHONPATH=$(COLLECTIONS) $(BIN)/python -m pytest tests/unit -q

# Version matrix (tests/matrix/README.md): ansible-test sanity and the unit tests that depend on the core, on the
# oldest ansible-core meta/runtime.yml claims (a venv on this Python) and on the newest PyPI serves (it needs
# Python >= 3.12: run in the debian13 image), besides the pinned core of .venv that `sanity` and `unit` use.
# Both cores at once: each is mostly one process waiting on nginx, ansible and pip, so two cores take about
# the time of one (tests/matrix/README.md has the numbers). Each core's output comes when it ends.
MATRIX_OLDEST := 2.16
MATRIX_NEWEST := 2.21
matrix: venv images collection
	$(MAKE) --no-print-directory -j2 --output-sync=target matrix-oldest matrix-newest
matrix-oldest: venv collection
	tests/matrix/run.sh $(MATRIX_OLDEST) host floor sanity unit
matrix-newest: venv images collection
	tests/matrix/run.sh $(MATRIX_NEWEST) debian13

# The tarball users install: build it, let Galaxy's importer check it, and install it offline on an ansible-core-only
# controller (no `ansible` package, so no bundled collections: most CI images and execution environments), then use
# the installed copy alone. The two checks run side by side (the importer mostly computes, the demo mostly waits).
GALAXY := $(TMP)/galaxy
GALAXY_IMPORTER_VENV := $(TMP)/galaxy-importer-venv
CORE_VENV := $(TMP)/core-venv
galaxy: venv images $(GALAXY_IMPORTER_VENV)/bin/.installed $(CORE_VENV)/bin/.installed
	@rm -rf $(GALAXY) && mkdir -p $(GALAXY)
	$(BIN)/ansible-galaxy collection build --output-path $(GALAXY) .
	$(MAKE) --no-print-directory -j2 --output-sync=target galaxy-import galaxy-core
	@echo "[galaxy] Galaxy's importer accepts the tarball; it installs offline with ansible-core alone, documents itself, and runs the demo from the installed copy"

# galaxy-importer in a venv of its own (its pins clash with requirements-dev.txt); the ansible-core of requirements-dev.txt
# with requirements.txt, and nothing else, for the controller.
$(GALAXY_IMPORTER_VENV)/bin/.installed: tests/galaxy/requirements.txt | $(TMP)/.deps
	rm -rf $(GALAXY_IMPORTER_VENV) && $(PYTHON) -m venv $(GALAXY_IMPORTER_VENV)
	$(GALAXY_IMPORTER_VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/galaxy/requirements.txt
	@touch $@
$(CORE_VENV)/bin/.installed: requirements.txt requirements-dev.txt | $(TMP)/.deps
	rm -rf $(CORE_VENV) && $(PYTHON) -m venv $(CORE_VENV)
	$(CORE_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt $$(grep -E '^ansible-core==' requirements-dev.txt)
	@touch $@

# Helpers of galaxy (they check the tarball it built). Galaxy's importer offline (tests/galaxy/galaxy-importer.cfg: no
# ansible-test, ansible-lint --offline); any WARNING or ERROR line it prints fails.
galaxy-import: $(GALAXY_IMPORTER_VENV)/bin/.installed
	@rm -rf $(GALAXY)/import && mkdir -p $(GALAXY)/import
	cd $(GALAXY)/import && env -u ANSIBLE_COLLECTIONS_PATH PATH=$(GALAXY_IMPORTER_VENV)/bin:$$PATH \
	  GALAXY_IMPORTER_CONFIG=$(ROOT)/tests/galaxy/galaxy-importer.cfg GALAXY_IMPORTER_ANSIBLE_LOCAL_TMP=$(GALAXY)/import/tmp \
	  $(GALAXY_IMPORTER_VENV)/bin/python -m galaxy_importer.main $(GALAXY)/wsproxy-nginx-*.tar.gz > $(GALAXY)/import.log 2>&1 \
	  || { cat $(GALAXY)/import.log; exit 1; }
	@! grep -E '^(WARNING|ERROR|CRITICAL)' $(GALAXY)/import.log || { echo "[galaxy] galaxy-importer complained (above; $(GALAXY)/import.log)"; exit 1; }
	grep -q '^Importer processing completed successfully' $(GALAXY)/import.log

# The demo's harness (the podman container and connection plugin) on a path of its own, next to the installed copy.
GALAXY_CORE := env PATH=$(CORE_VENV)/bin:$$PATH ANSIBLE_COLLECTIONS_PATH=$(GALAXY)/collections:$(GALAXY)/harness $(CORE_VENV)/bin/
galaxy-core: $(CORE_VENV)/bin/.installed
	@rm -rf $(GALAXY)/collections $(GALAXY)/harness && mkdir -p $(GALAXY)/collections $(GALAXY)/harness/ansible_collections/containers
	ln -s $(firstword $(wildcard $(VENV)/lib/python3*/site-packages/ansible_collections/containers/podman)) \
	  $(GALAXY)/harness/ansible_collections/containers/podman
	$(GALAXY_CORE)ansible-galaxy collection install --offline -p $(GALAXY)/collections $(GALAXY)/wsproxy-nginx-*.tar.gz
	@# No other collection in sight (ansible-core's internal ansible._* aside): the demo cannot lean on a bundled one.
	$(GALAXY_CORE)ansible-galaxy collection list | awk '/^[a-z0-9_]+\.[a-z0-9_]+ / && !/^ansible\._/ {print $$1}' | sort \
	  | paste -sd ' ' > $(GALAXY)/collections.txt
	[ "$$(cat $(GALAXY)/collections.txt)" = "containers.podman wsproxy.nginx" ] \
	  || { echo "[galaxy] expected containers.podman (the demo's) and wsproxy.nginx alone, found: $$(cat $(GALAXY)/collections.txt)"; exit 1; }
	$(GALAXY_CORE)ansible-doc wsproxy.nginx.nginx_info > $(GALAXY)/nginx_info.txt
	grep -q 'RETURN VALUES' $(GALAXY)/nginx_info.txt && grep -q 'connection_upgrade' $(GALAXY)/nginx_info.txt
	grep -q "$(GALAXY)/collections/ansible_collections/wsproxy/nginx/plugins/modules/nginx_info.py" $(GALAXY)/nginx_info.txt
	$(GALAXY_CORE)ansible localhost -m wsproxy.nginx.nginx_info -e ansible_python_interpreter=/usr/bin/python3 | grep -q '"layout":'
	@# The whole demo (container, websocket_proxy, probes) from the installed copy: catches files build_ignore drops.
	$(GALAXY_CORE)ansible-playbook -i tests/demo/inventory.yml tests/demo/demo.yml \
	  > $(GALAXY)/demo.log || { tail -n 40 $(GALAXY)/demo.log; exit 1; }
	grep -q "Sec-WebSocket-Accept valid: True, echo: wsproxy-probe" $(GALAXY)/demo.log
	podman rm -f wsproxy-demo > /dev/null

molecule: venv images collection
	@for scenario in $(SCENARIOS); do \
	  echo "[molecule] scenario $$scenario"; \
	  $(BIN)/molecule test -s $$scenario || exit 1; \
	done

# BENCH_HOSTS, BENCH_CONNECTIONS, BENCH_ROUNDS and BENCH_LARGE_SERVERS scale it down (see README, Performance).
bench: venv images collection $(BIN)/.bench-installed
	PYTHONPATH=$(COLLECTIONS) $(BIN)/python benchmarks/bench.py
$(BIN)/.bench-installed: benchmarks/requirements.txt | $(BIN)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -r benchmarks/requirements.txt
	@touch $@

# AWX / Automation Controller's engine: the rollout playbook through ansible-runner (from a private_data_dir laid out
# as AWX writes one) against two containers, twice; its artifacts must show each host's change and probe, the canary
# first, then changed=0 (tests/runner). ansible-runner in a venv of its own with the controller's ansible-core, like an
# execution environment (the shared dev venv stays as it is).
RUNNER_VENV := $(TMP)/runner-venv
.PHONY: runner
runner: venv images collection $(RUNNER_VENV)/bin/.installed
	timeout 900 tests/runner/run.sh $(RUNNER_VENV) $(VENV)
$(RUNNER_VENV)/bin/.installed: requirements.txt requirements-dev.txt tests/runner/requirements.txt | $(TMP)/.deps
	rm -rf $(RUNNER_VENV) && timeout 120 $(PYTHON) -m venv $(RUNNER_VENV)
	timeout 600 $(RUNNER_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt -r tests/runner/requirements.txt \
	  -c requirements-dev.txt
	@touch $@

# The small variant make test runs: 2 hosts, 50 connections; fails on a failed run, a non-idempotent rerun, a host
# whose first converge took more than one checkpoint or reload, or a dropped WebSocket. Results stay under .tmp.
bench-smoke: venv images collection
	BENCH_RESULTS=$(TMP)/bench-smoke BENCH_WORKDIR=$(TMP) PYTHONPATH=$(COLLECTIONS) $(BIN)/python benchmarks/bench.py --smoke

test: venv images collection sanity lint unit matrix galaxy runner molecule bench-smoke

clean:
	rm -rf $(TMP) $(VENV)
