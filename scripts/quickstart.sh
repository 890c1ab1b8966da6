#!/usr/bin/env bash
# One command for a new user: install everything, then run the quick suite on the host
# (scratch directory under /var/tmp, results in ~/.local/share/iocompare/results.db).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/iocompare run --suite quick "$@"
echo
echo "iocompare is in $(pwd)/.venv/bin; 'source .venv/bin/activate' puts it on your PATH."
