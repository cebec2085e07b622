# Closeloop: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint bench lock clean

install: $(STAMP)

# The industry plugins (every plugins/<name>/ with a pyproject), installed editable.
# Not the guide's example: tests/unit/test_example_plugin.py installs it as an author would.
PLUGINS := $(filter-out plugins/example/,$(dir $(wildcard plugins/*/pyproject.toml)))

$(STAMP): pyproject.toml requirements.lock $(addsuffix pyproject.toml,$(PLUGINS))
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	for plugin in $(PLUGINS); do \
		$(BIN)/python -m pip install --quiet --no-deps -e $$plugin || exit 1; \
	done
	touch $(STAMP)

demo: install
	$(BIN)/closeloop demo

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check platform tests migrations plugins bench
	$(BIN)/ruff format --check platform tests migrations plugins bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# Benchmarks print figures (bench/RESULTS.md). DATABASE_URL: a superuser URL of a server,
# else an embedded one. The listing seed (1,000,000 cases) is kept and reused.
bench: install
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/listing.py --reuse
	@for b in bench/[!_]*.py; do case $$b in \
		bench/intake.py|bench/listing.py) ;; \
		*) $(BIN)/python $$b || exit 1 ;; \
	esac; done

# Re-pin the dependencies after changing pyproject.toml.
lock: install
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --allow-unsafe --extra dev --strip-extras -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
