# Guanxi: `make run` to try it, `make test` to check it, `make bench` to measure it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/guanxi
SUM    := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# One stamp per set of extras: `make run` installs only what running needs; `make test`
# and `make bench` add the tools and reference packages (the CDNOW checks in the suite
# read lifetimes' data, so the tests take the bench extra too).
RUN_DEPS  := $(VENV)/.deps-run-$(SUM)
TEST_DEPS := $(VENV)/.deps-test-$(SUM)

.PHONY: run install install-test test test-sqlite test-pg lint bench messages vendor clean audit-deps screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUN_DEPS): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	rm -f $(VENV)/.deps-run-* && touch $@

$(TEST_DEPS): $(RUN_DEPS)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	rm -f $(VENV)/.deps-test-* && touch $@

install: $(RUN_DEPS)
install-test: $(TEST_DEPS)

run: install
	$(BIN)/guanxi demo

lint: install-test
	$(BIN)/ruff check src bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: install-test lint test-sqlite test-pg

# A database file rather than memory: the scoring tests start worker processes that
# open the test database too.
test-sqlite: install-test
	@mkdir -p var
	GUANXI_TEST_SQLITE="$(CURDIR)/var/test-sqlite.sqlite3" $(BIN)/pytest

# The same suite on PostgreSQL. GUANXI_REQUIRE_PG=1 (set by .ci/run) turns an
# unreachable server into a failure instead of a skipped pass.
test-pg: install-test
	@$(BIN)/python -m guanxi.core.pgcheck "$(PG_URL)"; rc=$$?; \
	if [ $$rc -eq 0 ]; then DATABASE_URL="$(PG_URL)" $(BIN)/pytest; \
	elif [ $$rc -ne 3 ]; then exit $$rc; fi

bench: install-test
	$(BIN)/python bench/dedupe.py
	$(BIN)/python bench/clv.py
	$(BIN)/python bench/scoring.py
	$(BIN)/python bench/cli.py
	$(BIN)/python bench/imports.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/automation.py
	$(BIN)/python bench/servicedesk.py
	$(BIN)/python bench/loyalty.py
	$(BIN)/python bench/engagement.py
	$(BIN)/python bench/foundation.py
	@$(BIN)/python -m guanxi.core.pgcheck "$(PG_URL)"; rc=$$?; \
	if [ $$rc -eq 0 ]; then $(BIN)/python bench/foundation.py --database postgres \
		--pg-url "$(PG_URL)_bench" --var var/bench-pg; \
	elif [ $$rc -ne 3 ]; then exit $$rc; fi

messages: install-test
	cd src/guanxi && ../../$(BIN)/guanxi makemessages -l zh_Hans --no-obsolete && ../../$(BIN)/guanxi compilemessages

# Re-fetch the vendored front-end files at their pinned versions.
vendor:
	rm -rf /tmp/guanxi-vendor && mkdir -p /tmp/guanxi-vendor
	cd /tmp/guanxi-vendor && npm pack htmx.org@2.0.11 echarts@6.1.0 swagger-ui-dist@5.35.0 \
		@tabler/core@1.6.1 @tabler/icons@3.52.0 tom-select@2.6.2 axe-core@4.14.1 >/dev/null && \
		for f in *.tgz; do mkdir -p "$${f%.tgz}" && tar xzf "$$f" -C "$${f%.tgz}"; done
	cp /tmp/guanxi-vendor/htmx.org-2.0.11/package/dist/htmx.min.js src/guanxi/web/static/vendor/htmx-2.0.11/
	mkdir -p src/guanxi/web/static/vendor/echarts-6.1.0
	cp /tmp/guanxi-vendor/echarts-6.1.0/package/dist/echarts.min.js /tmp/guanxi-vendor/echarts-6.1.0/package/LICENSE src/guanxi/web/static/vendor/echarts-6.1.0/
	mkdir -p src/guanxi/web/static/vendor/swagger-ui-dist-5.35.0
	cd /tmp/guanxi-vendor/swagger-ui-dist-5.35.0/package && cp swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE $(CURDIR)/src/guanxi/web/static/vendor/swagger-ui-dist-5.35.0/
	# Tabler ships no LICENSE file in its package (MIT, kept in the vendor folder).
	cp /tmp/guanxi-vendor/tabler-core-1.6.1/package/dist/css/tabler.min.css /tmp/guanxi-vendor/tabler-core-1.6.1/package/dist/js/tabler.min.js src/guanxi/web/static/vendor/tabler-core-1.6.1/
	# Only the icons Guanxi uses (listed in ICONS), inlined by the {% icon %} template tag.
	cd src/guanxi/web/static/vendor/tabler-icons-3.52.0 && cp /tmp/guanxi-vendor/tabler-icons-3.52.0/package/LICENSE . && \
		for i in $$(cat ICONS); do cp /tmp/guanxi-vendor/tabler-icons-3.52.0/package/icons/outline/$$i.svg .; done
	cd /tmp/guanxi-vendor/tom-select-2.6.2/package && cp dist/js/tom-select.complete.min.js dist/css/tom-select.bootstrap5.min.css LICENSE $(CURDIR)/src/guanxi/web/static/vendor/tom-select-2.6.2/
	# axe-core (MPL-2.0) is for the accessibility test only, not served by the product.
	cp /tmp/guanxi-vendor/axe-core-4.14.1/package/axe.min.js /tmp/guanxi-vendor/axe-core-4.14.1/package/LICENSE src/guanxi/web/tests/vendor/axe-core-4.14.1/

# Screenshots of the main pages in both languages (desktop and phone) for the README;
# needs Debian's chromium and fonts-noto-cjk.
screenshots: install-test
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) var/test-* .pytest_cache

# Known vulnerabilities in the installed dependencies (pip-audit asks PyPI's advisory
# database, so it needs network access or PIP_INDEX_URL pointing at a mirror that serves
# the JSON API). See docs/security.md.
audit-deps: install-test
	$(BIN)/pip install --quiet pip-audit==2.10.1
	$(BIN)/pip-audit --strict --skip-editable
