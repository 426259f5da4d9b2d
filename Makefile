# crossview: the two commands are `make book` and `make test`.
# Both create .venv (Python 3.11) with the pinned requirements and the library in
# editable mode on first use; later runs skip the install unless a pin changed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.crossview-installed
# The book build: warnings are errors, broken references too. Executed notebooks are
# cached in _build/.jupyter_cache/<key>, the key a hash of crossview/, data/,
# requirements.txt and pyproject.toml (book/_ext/execution_key.py, which prints it when
# run): a second build re-executes only the chapters whose cells changed, or every
# chapter when the library, the data or the pins changed.
JB_FLAGS := -W -n --keep-going
# Debian's chromium for the browser test; playwright drives it, no browser is downloaded.
CHROMIUM ?= /usr/bin/chromium
SUDO     := $(if $(filter 0,$(shell id -u)),,sudo)
PORT     ?= 8000

.PHONY: help setup book test test-lib test-book test-html chromium lint lab serve bench clean distclean

help:
	@echo "make book   build the HTML book into _build/html (sets up .venv first)"
	@echo "make test   lint, unit tests, the book in a browser, every notebook (sets up .venv first)"
	@echo "make lab    open the chapters in JupyterLab"
	@echo "make serve  serve the built book on http://localhost:$(PORT)"
	@echo "make test-html  open every page of the built book in headless Chromium, offline"
	@echo "make bench  benchmark the compute backends"
	@echo "make clean  remove build outputs; make distclean also removes .venv"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 11), "crossview needs Python 3.11, found " + sys.version' \
		|| { echo "error: $(VENV) is not Python 3.11; run 'make distclean' and set PYTHON=python3.11"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

setup: $(STAMP)

book: setup
	$(VENV)/bin/jupyter-book build . $(JB_FLAGS)

lint: setup
	$(VENV)/bin/ruff check crossview tests book

test-lib: setup
	$(PY) -m pytest tests -m "not browser"

test-book: setup
	$(PY) -m pytest --nbval-lax book/ -p no:cacheprovider

# The built book in headless Chromium with no network (tests/test_book_html.py). It
# reuses _build/html when that is newer than the book's sources and builds it otherwise.
test-html: setup chromium
	CROSSVIEW_CHROMIUM=$(CHROMIUM) $(PY) -m pytest tests/test_book_html.py -m browser -p no:cacheprovider

chromium: $(CHROMIUM)

$(CHROMIUM):
	@echo "installing Debian's chromium (headless browser for tests/test_book_html.py)"
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		chromium fonts-dejavu-core

# Each chapter runs twice: once in the book build (cached for the next build, and what
# the browser test opens) and once under nbval. The browser test comes right after the
# build so that it reuses it.
test: setup
	@start=$$(date +%s); status=0; \
	$(MAKE) --no-print-directory lint || status=1; \
	$(MAKE) --no-print-directory test-lib || status=1; \
	$(MAKE) --no-print-directory book || status=1; \
	$(MAKE) --no-print-directory test-html || status=1; \
	$(MAKE) --no-print-directory test-book || status=1; \
	echo "make test: finished in $$(( $$(date +%s) - start )) s (status $$status)"; \
	exit $$status

lab: setup
	$(VENV)/bin/jupyter lab book/

# The built book as a reader sees it, at http://localhost:$(PORT) (Ctrl-C stops it).
# Opening _build/html/index.html directly works too: the pages need no server.
serve:
	@test -f _build/html/index.html || { echo "build the book first: make book"; exit 1; }
	@echo "serving _build/html on http://localhost:$(PORT)"
	$(PY) -m http.server --bind 127.0.0.1 --directory _build/html $(PORT)

bench: setup
	$(PY) -m crossview bench all

clean:
	rm -rf _build .pytest_cache .hypothesis .ruff_cache
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
	find . -name .ipynb_checkpoints -not -path './.venv/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info
