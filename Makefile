# Two commands do everything on a fresh machine with Python 3.11:
#   make lab    install into .venv and start JupyterLab on the course
#   make test   install if needed and run every test (quick mode)
# and `make book` builds the HTML book into _build/book/_build/html; `make book-check`
# also opens its chapters in headless Chromium, offline, and checks what they show.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
KERNEL := scaledown
CHROMIUM ?= $(shell command -v chromium || command -v chromium-browser || command -v google-chrome)
BOOK_CHECK_PAGES ?= book/0*.html

.PHONY: install lab test test-full format book book-check freeze clean

install: $(STAMP)

# The last steps register the kernel and set JupyterLab's defaults in .venv
# (jupyterlab-overrides.json): Markdown opens rendered (MyST, jupyterlab-myst), no news prompt.
$(STAMP): requirements.txt constraints.txt pyproject.toml jupyterlab-overrides.json
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if v == (3, 11) else "scaledown needs Python 3.11 (found %d.%d): set PYTHON=/path/to/python3.11" % v)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python 3 (scaledown)" > /dev/null
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp jupyterlab-overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $(STAMP)

# As root (containers, cloud VMs) JupyterLab needs --allow-root. book/intro.md opens rendered
# (jupyterlab-overrides.json: Markdown files open in the Markdown preview).
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=. $(if $(filter 0,$(shell id -u)),--allow-root) book/intro.md

# Quick mode (SCALEDOWN_QUICK=1): the same cells, fewer epochs and less data.
# Two workers (pytest-xdist; loadscope keeps each notebook and each lab's runs on one worker);
# PYTEST_ARGS= (empty) runs everything in one process.
PYTEST_ARGS ?= -n 2 --dist loadscope
test: $(STAMP)
	SCALEDOWN_QUICK=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

# Full mode: the notebooks train to the accuracies their text states (slow).
test-full: $(STAMP)
	SCALEDOWN_QUICK= $(BIN)/python -m pytest

# Lint and format the package, tests, benchmarks and the book's code ([tool.ruff] in pyproject.toml);
# `make test` fails when either has something to say.
format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

book: $(STAMP)
	$(BIN)/jupyter-book build . --warningiserror --keep-going --path-output _build/book
	@echo "The book is in _build/book/_build/html/index.html"

# Each chapter in headless Chromium with the network off: formulas typeset, images shown.
# More pages: make book-check BOOK_CHECK_PAGES='book/*.html notebooks/*.html'
book-check:
	@test -n "$(CHROMIUM)" && command -v "$(CHROMIUM)" > /dev/null || { echo "make book-check needs Chromium: install it with 'apt-get install chromium' (or set CHROMIUM=/path/to/chrome)."; exit 2; }
	@$(MAKE) --no-print-directory book
	$(BIN)/python tests/browser_check.py _build/book/_build/html --chromium "$(CHROMIUM)" --pages $(foreach p,$(BOOK_CHECK_PAGES),'$(p)')

freeze: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^scaledown' > constraints.txt

clean:
	rm -rf $(VENV) _build
