# The two commands of the quick start: `make demo` and `make test`.
# Both create .venv with `python3 -m venv` when it is missing and install the project into it.
VENV   ?= .venv
PY     := $(VENV)/bin/python
AIMAK  := $(VENV)/bin/aimak
STAMP  := $(VENV)/.installed-stamp

export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: install demo test bench lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
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

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf out/demo .pytest_cache .ruff_cache
