# The two commands of the quick start: `make demo` and `make test`.
# Both create .venv with Python 3.11 when it is missing and install the project into it.
VENV   ?= .venv
PY     := $(VENV)/bin/python
AIMAK  := $(VENV)/bin/aimak
STAMP  := $(VENV)/.installed-stamp
# Aimak needs Python 3.11 (pyproject.toml): python3.11 when it is on PATH, else python3.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo python3)
IS_311 := import sys; sys.exit(sys.version_info[:2] != (3, 11))

export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: install venv demo test bench lint clean pictures

# The virtual environment, made by Python 3.11. One made by another Python (a 3.12 that was first
# on PATH when it was made) can never install Aimak, and pip says so again at every run: the
# default .venv is then made again, any other VENV is left alone with a word on what to do.
venv:
	@$(PYTHON) -c '$(IS_311)' 2>/dev/null || { echo "make: Aimak needs Python 3.11 and $(PYTHON) is $$($(PYTHON) -V 2>&1). Install 3.11 and put it first on PATH, or run: make PYTHON=/path/to/python3.11"; exit 1; }
	@if [ -e $(PY) ] && ! $(PY) -c '$(IS_311)' 2>/dev/null; then \
	  if [ "$(VENV)" = ".venv" ]; then \
	    echo "make: $(VENV) was made by $$($(PY) -V 2>&1 || echo 'a Python that is gone'); Aimak needs 3.11: making it again with $(PYTHON)"; \
	    $(PYTHON) -m venv --clear $(VENV); \
	  else \
	    echo "make: $(VENV) was made by $$($(PY) -V 2>&1 || echo 'a Python that is gone'); Aimak needs 3.11. Remove it (rm -rf $(VENV)) or set VENV to another folder, then run make again"; \
	    exit 1; \
	  fi; \
	fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(AIMAK) demo

test: $(STAMP)
	$(PY) -m pytest -n 2

bench: $(STAMP)
	@set -e; for b in bench/*.py; do echo "== $$b"; $(PY) $$b; done

# The README's pictures (docs/img/) from the demo's workbooks; needs LibreOffice and poppler-utils.
pictures: $(STAMP)
	@test -f out/demo/warehouse.duckdb || $(AIMAK) demo
	$(PY) docs/render_pictures.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf out/demo .pytest_cache .ruff_cache
