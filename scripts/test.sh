#!/usr/bin/env bash
# Install everything the tests need (Debian packages and Python test dependencies), then run
# ruff (lint and format) and mypy --strict, then the whole test suite: unit tests and integration
# tests against the real tools.
set -euo pipefail
cd "$(dirname "$0")/.."
IOCOMPARE_EXTRAS=test bash scripts/setup.sh
# Style is enforced, not hoped for: a lint, format or type error fails the run before any test.
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy src
exec .venv/bin/python -m pytest "$@"
