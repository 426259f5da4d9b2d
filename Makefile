# crossview: the two commands are `make book` and `make test`.
# Both create .venv (Python 3.11) with the pinned requirements and the library in
# editable mode on first use; later runs skip the install unless a pin changed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.crossview-installed

.PHONY: help setup book test test-lib test-book lint lab serve bench clean distclean

help:
	@echo "make book   build the HTML book into _build/html (sets up .venv first)"
	@echo "make test   lint, unit tests and every notebook of the book (sets up .venv first)"
	@echo "make lab    open the chapters in JupyterLab"
	@echo "make serve  serve the built book on http://localhost:8000"
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
	$(VENV)/bin/jupyter-book build . -W -n --keep-going

lint: setup
	$(VENV)/bin/ruff check crossview tests book

test-lib: setup
	$(PY) -m pytest tests

test-book: setup
	$(PY) -m pytest --nbval-lax book/ -p no:cacheprovider

test: setup
	@start=$$(date +%s); status=0; \
	$(MAKE) --no-print-directory lint || status=1; \
	$(MAKE) --no-print-directory test-lib || status=1; \
	$(MAKE) --no-print-directory test-book || status=1; \
	echo "make test: finished in $$(( $$(date +%s) - start )) s (status $$status)"; \
	exit $$status

lab: setup
	$(VENV)/bin/jupyter lab book/

serve:
	@test -d _build/html || { echo "build the book first: make book"; exit 1; }
	$(PY) -m http.server --directory _build/html 8000

bench: setup
	$(PY) -m crossview bench all

clean:
	rm -rf _build .pytest_cache .hypothesis .ruff_cache
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
	find . -name .ipynb_checkpoints -not -path './.venv/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info
