# Two commands for a new user: `make demo` and `make test`. Both install first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# llama.cpp built with the default native flags segfaults on the first decode on CPUs with
# AMX (seen on our dev machines); a portable build without AMX/AVX512 works everywhere.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_BF16=OFF

# What the browser tests and the PostgreSQL test need from the system (Debian packages):
# installed with apt when missing and we are root; otherwise those tests say how to get them.
SYSTEM_PACKAGES := chromium chromium-driver postgresql

.PHONY: install system-deps demo test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install "llama-cpp-python==0.3.36"
	# [train]: the LoRA pipeline's end-to-end test runs in the suite (torch pinned to its CPU
	# wheel in pyproject.toml)
	$(PY) -m pip install -e ".[dev,train]"
	touch $@

# The API (127.0.0.1:8000) and the web UI (http://127.0.0.1:8501) together, offline; prints the
# admin token; Ctrl-C stops both.
demo: install
	$(VENV)/bin/celltwin demo

system-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium chromium-driver"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
		missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing$$missing (apt)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else \
			echo "missing system packages:$$missing (apt-get install$$missing as root)"; \
		fi; \
	fi

test: install system-deps
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) bench/twin_bench.py

clean:
	rm -rf $(VENV) build *.egg-info
