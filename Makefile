# The two commands of the README. Each installs into .venv (created if missing), then runs.
#   make demo   -> the main job on the embedded SynthShapes data (PROFILE=default; PROFILE=ci for a quick one)
#   make test   -> the whole test suite, with every solution notebook run by nbval under the ci profile
#   make book   -> the course website in build/book/ (solution notebooks executed under ci, docs, API reference)
PYTHON ?= python3
VENV   ?= .venv
PROFILE ?= default
BIN    := $(VENV)/bin

.PHONY: install demo test course book

$(BIN)/sbsr-lab: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[dev]"
	touch $(BIN)/sbsr-lab

install: $(BIN)/sbsr-lab

demo: install
	$(BIN)/sbsr-lab demo --profile $(PROFILE)

test: install
	SBSR_PROFILE=ci SBSR_DATA=$(CURDIR)/data $(BIN)/python -m pytest tests solutions --nbval-lax -p no:cacheprovider

course: install
	$(BIN)/sbsr-lab course build

book: install
	SBSR_DATA=$(CURDIR)/data $(BIN)/python docs/book/build.py --site build/book
