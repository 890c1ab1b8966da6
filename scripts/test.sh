#!/usr/bin/env bash
# Install everything the tests need (Debian packages and Python test dependencies), then run
# the whole test suite: unit tests and integration tests against the real tools.
set -euo pipefail
cd "$(dirname "$0")/.."
IOCOMPARE_EXTRAS=test bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
