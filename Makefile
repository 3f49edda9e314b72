# keyward.keys: build and test. See docs/testing.md.
#
#   make test         sanity + unit + integration tests on both ansible-core versions below
#   make venv         the two test virtualenvs (.venv/<core>)
#   make build        ansible-galaxy collection build   -> .build/keyward-keys-<version>.tar.gz
#   make install      that tarball installed under        .build/installed/ansible_collections
#   make demo         build, install, start the emulators on loopback and run demo/demo.yml
#   make bench        benchmarks/ (prints figures and ratios; not a test)
#   make eda          the event source and rulebook under ansible-rulebook (.venv/eda, Java 17+)
#   make sanity | units | units-ansible-test | integration   (both cores; or e.g. sanity-2.16)
#   make clean        remove .build/ and tests/output/;  make distclean also removes .venv/

# The oldest and the newest supported ansible-core, each with a Python it supports.
CORES := 2.16 2.21

PYTHON_2.16    ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.11*/bin/python3.11) python3.11)
PYVER_2.16     := 3.11
CORE_SPEC_2.16 ?= ansible-core>=2.16,<2.17

PYTHON_2.21    ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) python3.12)
PYVER_2.21     := 3.12
CORE_SPEC_2.21 ?= ansible-core>=2.21,<2.22

# The core whose ansible-galaxy builds and installs the collection.
TOOLS_CORE := 2.21

# `make test` runs this many stages at once (each stage's output is shown when it ends;
# JOBS=1 streams it live).
JOBS ?= 2

# Extra arguments: make units-2.21 PYTEST_ARGS='-k obshell -x'; SANITY_ARGS='--test pylint'
PYTEST_ARGS  ?=
SANITY_ARGS  ?=
UNITS_ARGS   ?=
SUMMARY_ARGS ?=

# ---------------------------------------------------------------------------------------------

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

VERSION   := $(shell sed -n 's/^version:[[:space:]]*//p' galaxy.yml)
TARBALL   := .build/keyward-keys-$(VERSION).tar.gz
# Where `make install` puts the collection (a test installs into a temporary one).
INSTALL_ROOT ?= .build/installed
INSTALLED := $(INSTALL_ROOT)/ansible_collections/keyward/keys/MANIFEST.json
SRC_TREE  := .build/src/ansible_collections/keyward/keys
# What plain pytest imports the collection through (tests/conftest.py makes it too; making it
# first avoids two pytest runs racing to create it).
LINK      := .build/collections/ansible_collections/keyward/keys
# What ansible-test works on: one mirror of the checkout per core (scripts/collection_tree.py).
tree       = .build/ansible-test/$(1)/ansible_collections/keyward/keys
# Every file that goes into the collection; the tarball is rebuilt when one changes.
SOURCES   := $(shell git ls-files -co --exclude-standard 2>/dev/null | while read -r f; do [ -e "$$f" ] && echo "$$f"; done)

# A virtualenv is ready when its stamp exists; the stamp's name hashes what went into it, so
# editing requirements.txt, test-requirements.txt or a core spec reinstalls (incrementally).
req_hash = $(shell { echo '$(CORE_SPEC_$(1)) $(PYTHON_$(1))'; cat requirements.txt test-requirements.txt; } | sha256sum | cut -c1-12)
venv     = .venv/$(1)
stamp    = .venv/$(1)/.ready-$(call req_hash,$(1))
STAGE    = $(PYTHON_$(TOOLS_CORE)) scripts/test_stage.py

# Every stage of `make test`, in the order the summary lists them, and the order in which they
# are started (longest first, so that two at a time finish together).
TEST_STAGES := $(foreach c,$(CORES),sanity-$(c) units-$(c) units-ansible-test-$(c) integration-$(c))
TEST_ORDER  := $(foreach s,integration sanity units-ansible-test units,$(foreach c,$(CORES),$(s)-$(c)))

.PHONY: help venv sanity units units-ansible-test integration test summary build install demo bench clean distclean

help:
	@sed -n 's/^#   //p' Makefile

venv: $(foreach c,$(CORES),venv-$(c))
sanity: $(foreach c,$(CORES),sanity-$(c))
units: $(foreach c,$(CORES),units-$(c))
units-ansible-test: $(foreach c,$(CORES),units-ansible-test-$(c))
integration: $(foreach c,$(CORES),integration-$(c))

# Every stage for both cores, $(JOBS) at a time. A failed stage does not stop the others (the
# stage runner records it and lets make go on); the summary then prints one line per stage
# and last `N passed, N failed`, and its status is make's.
test:
	@$(STAGE) clear
	@KEYWARD_STAGE_KEEP_GOING=1 $(MAKE) --no-print-directory -k -j$(JOBS) --output-sync=target \
	  KEYWARD_TEST_RUN=1 $(TEST_ORDER) || true
	@$(STAGE) summary $(TEST_STAGES)

# The last `make test`'s results again (informational: never fails).
summary:
	@$(STAGE) summary $(SUMMARY_ARGS) $(TEST_STAGES) || true

$(LINK):
	@mkdir -p $(@D) && ln -sfn $(CURDIR) $@

# awx.awx, for the syntax check of playbooks/awx_credential_types.yml (tests only; see the script).
AWX_COLLECTION := .build/awx-collection/ansible_collections/awx/awx/plugins/modules/credential_type.py

$(AWX_COLLECTION): | venv-$(TOOLS_CORE)
	@$(call venv,$(TOOLS_CORE))/bin/python scripts/fetch_awx_collection.py .build/awx-collection

define CORE_RULES
.PHONY: venv-$(1) tree-$(1) sanity-$(1) units-$(1) units-ansible-test-$(1) integration-$(1)

venv-$(1): $(call stamp,$(1))

$(call stamp,$(1)):
	@echo "==> virtualenv $(call venv,$(1)): $(CORE_SPEC_$(1)) on $(PYTHON_$(1))"; start=$$$$SECONDS; \
	$(call venv,$(1))/bin/python -c 'import sys; sys.exit("%d.%d" % sys.version_info[:2] != "$(PYVER_$(1))")' 2>/dev/null \
	  || { rm -rf $(call venv,$(1)) && $(PYTHON_$(1)) -m venv $(call venv,$(1)); }; \
	$(call venv,$(1))/bin/python -m pip install --quiet --disable-pip-version-check \
	  '$(CORE_SPEC_$(1))' -r requirements.txt -r test-requirements.txt; \
	rm -f $(call venv,$(1))/.ready-*; touch $$@; \
	echo "==> virtualenv $(call venv,$(1)): ready in $$$$((SECONDS - start))s"

# The mirror ansible-test runs in, and the cached pip bootstrap ansible-test needs offline.
tree-$(1): venv-$(1)
	@$(call venv,$(1))/bin/python scripts/ansible_test_pip_cache.py
	@$(call venv,$(1))/bin/python scripts/collection_tree.py .build/ansible-test/$(1) \
	  --unit-requirements requirements.txt test-requirements.txt

sanity-$(1): tree-$(1)
	@$(STAGE) run sanity-$(1) -- env -C $(call tree,$(1)) PATH="$(CURDIR)/$(call venv,$(1))/bin:$$$$PATH" \
	  ansible-test sanity --venv --python $(PYVER_$(1)) --requirements --color no $(SANITY_ARGS)

units-$(1): venv-$(1) | $(LINK)
	@$(STAGE) run units-$(1) --junit .build/results/units-$(1).xml -- \
	  $(call venv,$(1))/bin/python -m pytest tests/unit -ra --junitxml=.build/results/units-$(1).xml $(PYTEST_ARGS)

units-ansible-test-$(1): tree-$(1)
	@$(STAGE) run units-ansible-test-$(1) --junit '$(call tree,$(1))/tests/output/junit/*units.xml' -- \
	  env -C $(call tree,$(1)) PATH="$(CURDIR)/$(call venv,$(1))/bin:$$$$PATH" \
	  ansible-test units --venv --python $(PYVER_$(1)) --requirements --color no $(UNITS_ARGS)

integration-$(1): venv-$(1) $(AWX_COLLECTION) | $(LINK)
	@$(STAGE) run integration-$(1) --junit .build/results/integration-$(1).xml -- \
	  env KEYWARD_AWX_COLLECTIONS=$(CURDIR)/.build/awx-collection \
	  $(call venv,$(1))/bin/python -m pytest tests/integration -ra --junitxml=.build/results/integration-$(1).xml $(PYTEST_ARGS)

# In `make test`, the two ansible-test stages of a core share its mirror: one after the other.
ifdef KEYWARD_TEST_RUN
units-ansible-test-$(1): | sanity-$(1)
endif
endef
$(foreach c,$(CORES),$(eval $(call CORE_RULES,$(c))))

# ---------------------------------------------------------------------------------------------
# Build and install: from a clean mirror of the checkout, so stray local files never ship.

build: $(TARBALL)
install: $(INSTALLED)

# The collection's real job against the bundled emulators on loopback (scripts/demo.py):
# obshell agents and Huawei Cloud KMS, keys verified, fingerprinted, pinned and written to demo/output.
demo: $(INSTALLED)
	$(call venv,$(TOOLS_CORE))/bin/python scripts/demo.py --collections $(INSTALL_ROOT)

# Measured figures with ratios against a baseline of the same run (not a test).
bench: venv-$(TOOLS_CORE) | $(LINK)
	$(call venv,$(TOOLS_CORE))/bin/python benchmarks/lookup_cache.py
	$(call venv,$(TOOLS_CORE))/bin/python benchmarks/concurrent_fetch.py
	$(call venv,$(TOOLS_CORE))/bin/python benchmarks/cache_hit_cpu.py
	$(call venv,$(TOOLS_CORE))/bin/python benchmarks/cache_hit_instructions.py
	$(call venv,$(TOOLS_CORE))/bin/python benchmarks/trust_store_report.py
	$(MAKE) --no-print-directory venv-eda
	$(EDA_VENV)/bin/python benchmarks/eda_rotation.py

$(TARBALL): $(SOURCES) | venv-$(TOOLS_CORE)
	@$(call venv,$(TOOLS_CORE))/bin/python scripts/collection_tree.py .build/src
	$(call venv,$(TOOLS_CORE))/bin/ansible-galaxy collection build --force --output-path .build $(SRC_TREE)

# The install path is named as a collections path too, so ansible-galaxy does not warn that
# ansible-playbook would not find it there (the demo gives ansible-playbook that path).
$(INSTALLED): $(TARBALL)
	ANSIBLE_COLLECTIONS_PATH=$(abspath $(INSTALL_ROOT)) $(call venv,$(TOOLS_CORE))/bin/ansible-galaxy collection install \
	  --force --offline -p $(INSTALL_ROOT) $(TARBALL)
	@touch $@

clean:
	rm -rf .build tests/output

distclean: clean
	rm -rf .venv

# ---------------------------------------------------------------------------------------------
# Lint, release notes and packaging (issue 13): the ecosystem's own tools in their own venv.
#
#   make lint         ansible-lint --profile production, antsibull-changelog lint, antsibull-docs
#                     lint-collection-docs --plugin-docs, galaxy-importer on the tarball, and
#                     ansible-builder create on execution-environment.yml (tests/lint, pytest)
#   make venv-lint    .venv/lint from lint-requirements.txt (+ requirements.txt, LINT_CORE_SPEC)
#   make changelog    antsibull-changelog lint + release (version from galaxy.yml) -> CHANGELOG.rst
#   make release      make changelog, then build the tarball

LINT_PYTHON    ?= $(PYTHON_2.21)
LINT_PYVER     := 3.12
LINT_CORE_SPEC ?= ansible-core>=2.21,<2.22
# Extra arguments for ansible-lint in the lint stage: make lint LINT_ARGS='-v'
LINT_ARGS      ?=

LINT_VENV  := .venv/lint
LINT_STAMP  = $(LINT_VENV)/.ready-$(shell { echo '$(LINT_CORE_SPEC) $(LINT_PYTHON)'; cat requirements.txt lint-requirements.txt; } | sha256sum | cut -c1-12)
# The lint tools run in the checkout seen as ansible_collections/keyward/keys ($(LINK)).
LINT_ENV    = env -C $(LINK) PATH="$(CURDIR)/$(LINT_VENV)/bin:$$PATH" ANSIBLE_COLLECTIONS_PATH="$(CURDIR)/.build/collections"

TEST_STAGES += lint
TEST_ORDER  += lint

.PHONY: lint venv-lint changelog release

venv-lint: $(LINT_STAMP)

$(LINT_STAMP):
	@echo "==> virtualenv $(LINT_VENV): $(LINT_CORE_SPEC) on $(LINT_PYTHON)"; start=$$SECONDS; \
	$(LINT_VENV)/bin/python -c 'import sys; sys.exit("%d.%d" % sys.version_info[:2] != "$(LINT_PYVER)")' 2>/dev/null \
	  || { rm -rf $(LINT_VENV) && $(LINT_PYTHON) -m venv $(LINT_VENV); }; \
	$(LINT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	  '$(LINT_CORE_SPEC)' -r requirements.txt -r lint-requirements.txt; \
	rm -f $(LINT_VENV)/.ready-*; touch $@; \
	echo "==> virtualenv $(LINT_VENV): ready in $$((SECONDS - start))s"

lint: venv-lint $(TARBALL) | $(LINK)
	@$(STAGE) run lint --junit .build/results/lint.xml -- env KEYWARD_TARBALL=$(CURDIR)/$(TARBALL) LINT_ARGS='$(LINT_ARGS)' \
	  $(LINT_VENV)/bin/python -m pytest -p no:cacheprovider tests/lint -ra --junitxml=.build/results/lint.xml $(PYTEST_ARGS)

changelog: venv-lint | $(LINK)
	$(LINT_ENV) antsibull-changelog lint
	$(LINT_ENV) antsibull-changelog release --reload-plugins --update-existing
	@echo "==> CHANGELOG.rst for $(VERSION) written"

release: changelog
	$(MAKE) --no-print-directory build

# ---------------------------------------------------------------------------------------------
# Event-Driven Ansible (issue 20): ansible-rulebook runs extensions/eda against the emulators.
#
#   make eda          tests/eda with pytest in .venv/eda (ansible-rulebook, which needs Java 17+:
#                     a headless JRE is installed from the system's packages when `java` is missing)
#   make venv-eda     .venv/eda from tests/eda/requirements.txt (+ requirements.txt, EDA_CORE_SPEC)

EDA_PYTHON    ?= $(PYTHON_2.21)
EDA_PYVER     := 3.12
EDA_CORE_SPEC ?= ansible-core>=2.21,<2.22
EDA_VENV      := .venv/eda
EDA_STAMP      = $(EDA_VENV)/.ready-$(shell { echo '$(EDA_CORE_SPEC) $(EDA_PYTHON)'; cat requirements.txt tests/eda/requirements.txt; } | sha256sum | cut -c1-12)

TEST_STAGES += eda
TEST_ORDER  += eda

.PHONY: eda venv-eda java-runtime

venv-eda: $(EDA_STAMP) java-runtime

$(EDA_STAMP):
	@echo "==> virtualenv $(EDA_VENV): $(EDA_CORE_SPEC) on $(EDA_PYTHON)"; start=$$SECONDS; \
	$(EDA_VENV)/bin/python -c 'import sys; sys.exit("%d.%d" % sys.version_info[:2] != "$(EDA_PYVER)")' 2>/dev/null \
	  || { rm -rf $(EDA_VENV) && $(EDA_PYTHON) -m venv $(EDA_VENV); }; \
	$(EDA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	  '$(EDA_CORE_SPEC)' -r requirements.txt -r tests/eda/requirements.txt; \
	rm -f $(EDA_VENV)/.ready-*; touch $@; \
	echo "==> virtualenv $(EDA_VENV): ready in $$((SECONDS - start))s"

# ansible-rulebook's rule engine (drools) runs in a JVM. Debian/Ubuntu: a headless JRE 17.
java-runtime:
	@command -v java >/dev/null 2>&1 || { \
	  echo "==> java not found: installing openjdk-17-jre-headless (ansible-rulebook needs Java 17+)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    --no-install-recommends openjdk-17-jre-headless >/dev/null; \
	  java -version; }

eda: venv-eda | $(LINK)
	@$(STAGE) run eda --junit .build/results/eda.xml -- env ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/.build/collections \
	  $(EDA_VENV)/bin/python -m pytest tests/eda -ra --junitxml=.build/results/eda.xml $(PYTEST_ARGS)
