# klif-edu: the two set-up commands are `make demo` and `make test`.
# Each creates .venv when it is missing and installs the package into it.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch first, pinned to the release this machine keeps on disk (no download here);
# elsewhere override it, e.g. `make test TORCH_SPEC="torch torchvision"`.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
EXTRAS ?= notebooks,dev
PYTEST_ARGS ?=

.PHONY: demo test lab install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --upgrade --quiet pip
	$(BIN)/pip install --quiet $(TORCH_SPEC)
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/klif-edu demo

test: install
	KLIF_EDU_QUICK=1 KLIF_EDU_DEVICE=cpu $(BIN)/python -m pytest --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=300 tests notebooks $(PYTEST_ARGS)

lab: install
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) runs .pytest_cache
