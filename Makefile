# Thin wrappers; see README.md. Every target is safe to run again.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
KERNEL_NAME ?= nn-training-course
RUN_ARGS ?=
NB ?=
LOGDIR ?= runs

.PHONY: setup run test lint lab bench notebooks data mathjax postgres browser book clean-runs tensorboard

setup:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@$(MAKE) --no-print-directory data
	@$(MAKE) --no-print-directory mathjax
	@$(MAKE) --no-print-directory postgres
	@$(MAKE) --no-print-directory browser
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL_NAME) --display-name "NN training course (.venv)" >/dev/null
	$(VENV)/bin/jupyter trust notebooks/*.ipynb >/dev/null 2>&1 || echo "jupyter trust failed: open the notebooks and choose Trust"
	@echo "setup done: $(VENV) ready, Jupyter kernel '$(KERNEL_NAME)' registered"

# Fashion-MNIST offline first: the Debian package where apt-get and root are available,
# otherwise course_utils finds a local copy or downloads it (with a clear message when it cannot).
data:
	@if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null) || echo "apt-get could not install dataset-fashion-mnist; trying a download next"; \
	fi
	$(PY) -m course_utils data fashion_mnist

# MathJax for the offline course website: Debian's libjs-mathjax where apt-get and root are available.
mathjax:
	@if [ ! -f /usr/share/javascript/mathjax/MathJax.js ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && apt-get install -y -qq libjs-mathjax >/dev/null) || echo "apt-get could not install libjs-mathjax; make book will say what is missing"; \
	fi

# PostgreSQL server binaries for the multi-machine sweep test (Debian's postgresql), where missing.
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) || echo "apt-get could not install postgresql; the PostgreSQL sweep test will be skipped"; \
	fi

# Headless Chromium for the browser tests (JupyterLab, the website's accessibility check): Debian's
# chromium and chromium-driver where apt-get and root are available; nothing downloads a browser build.
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
		if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
			(apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) || echo "apt-get could not install chromium; the browser tests will be skipped"; \
		else echo "no chromium: install Debian's chromium and chromium-driver (as root) for the browser tests"; fi; \
	fi

# The course website from the committed notebooks (not executed), offline: book/_build/html.
book: setup
	$(PY) -m course_utils book

run: setup
	$(PY) -m course_utils run $(RUN_ARGS)

LINTED := course_utils tests benchmarks notebooks/*.py

lint: setup
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)

test: setup
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(PY) -m pytest

# JupyterLab on notebooks/ with the repository's jupyter_server_config.json (each notebook shows once:
# the py:percent twins NN_topic.py are hidden); as root (Docker, cloud VMs) it adds --allow-root.
lab: setup
	JUPYTER_CONFIG_PATH="$(CURDIR)$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
		$(VENV)/bin/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root) notebooks/

bench: setup
	$(PY) benchmarks/run_all.py

# TensorBoard over the course's run folders (notebook 10, train_script); LOGDIR=... for another.
tensorboard: setup
	@mkdir -p $(LOGDIR)
	$(VENV)/bin/tensorboard --logdir $(LOGDIR)

# Regenerate the committed notebooks (from their py:percent twins) with real cpu-profile outputs.
notebooks: setup
	$(PY) -m course_utils build $(NB) --profile cpu
