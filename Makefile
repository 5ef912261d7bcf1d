# faceindex: `make run` and `make test` set up .venv themselves on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# one stamp per extra: `make run` installs the runtime only, `make test` adds [dev] to the same venv
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev
FACEINDEX_TESTDATA ?= ../shared/testdata
export FACEINDEX_TESTDATA

.PHONY: run test lint typecheck unit bench clean models

$(RUNTIME): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -e .
	touch $@

# face_recognition (the tests' and benchmarks' reference) with --no-deps: it asks for the source
# `dlib`, which dlib-bin already provides
$(DEV): $(RUNTIME)
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps face-recognition==1.3.0
	touch $@

models: $(RUNTIME)
	$(BIN)/faceindex models prepare

# `make run` serves Rekognition's API and the REST API on 127.0.0.1:8080 from the embedded store
# (~/.local/share/faceindex); it prints the boto3 and AWS CLI lines to use it (and, the first time,
# an access key). The test photos are bucket `testdata` for Image.S3Object.
# exec: the server takes the shell's place, so Ctrl-C stops it cleanly (exit 0) and make reports no error
run: models
	FACEINDEX_BUCKETS="$${FACEINDEX_BUCKETS:-testdata=$(abspath $(FACEINDEX_TESTDATA))}" exec $(BIN)/faceindex serve

lint: $(DEV)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: $(DEV)
	$(BIN)/mypy

unit: $(DEV)
	$(BIN)/pytest -q

test: lint typecheck unit

bench: $(DEV)
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/server.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
