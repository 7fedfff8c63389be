# The two commands of the README. Each installs into .venv (created if missing), then runs.
#   make demo   -> the main job on the embedded SynthShapes data (PROFILE=default; PROFILE=ci for a quick one)
#   make test   -> the whole test suite, with every solution notebook run by nbval under the ci profile
#   make book   -> the course website in build/book/ (solution notebooks executed under ci, docs, API reference)
#   make bundle -> retrain the bundled model (sbsr_lab/assets/bundle) the way it was made (~40 min on 2 cores)
PYTHON ?= python3
VENV   ?= .venv
PROFILE ?= default
BIN    := $(VENV)/bin

.PHONY: install demo test course book bundle

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

# the bundled model: people's drawing styles, 500 sketches per class, outlier exposure (README, issue 17),
# SynthShapes with the variants real collections have (lamp posts; issue 28). Outlier exposure's weight is
# chosen per method (docs/experiments.md, "Outlier exposure's weight per method"): UACTN 0.5, CFTTSL 0.25,
# so the two methods train in two demo runs on the same data (joint has no outlier term).
BUNDLE_WORK ?= build/bundle-runs
BUNDLE_SET  := --set sketch_styles=people --set sketches_per_class=500 --set shape_set=real
BUNDLE_OE_UACTN  := 0.5
BUNDLE_OE_CFTTSL := 0.25
bundle: install
	$(BIN)/sbsr-lab --quiet demo $(BUNDLE_SET) --set outlier_exposure=$(BUNDLE_OE_UACTN) --methods uactn,joint \
	  --data $(BUNDLE_WORK)/data --out $(BUNDLE_WORK)/runs
	$(BIN)/sbsr-lab --quiet demo $(BUNDLE_SET) --set outlier_exposure=$(BUNDLE_OE_CFTTSL) --methods cfttsl \
	  --data $(BUNDLE_WORK)/data --out $(BUNDLE_WORK)/runs-cfttsl
	$(BIN)/python -c "from sbsr_lab.serve.bundle import export_bundle; r = '$(BUNDLE_WORK)/runs'; \
	  print(export_bundle({'cfttsl': r + '-cfttsl/student', 'uactn': r + '/shape-transfer', 'joint': r + '/joint'}, \
	                      '$(BUNDLE_WORK)/data', 'sbsr_lab/assets/bundle'))"
