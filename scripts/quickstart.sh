#!/usr/bin/env bash
# One command for a new user: install everything, build the container image and the microVM guest
# image, then run the quick suite side by side on the host, in a Podman container and in a QEMU
# microVM (scratch files under /var/tmp, results in ~/.local/share/iocompare/results.db) and show
# the comparison. An environment that cannot run here is skipped with one line saying why.
# Extra arguments go to `iocompare run` (e.g. --target /mnt/nvme).
set -euo pipefail
started=$SECONDS
cd "$(dirname "$0")/.."
bash scripts/setup.sh
iocompare=.venv/bin/iocompare

envs=(--env host)
for pair in podman:podman qemu:guest; do
    env=${pair%%:*} image=${pair#*:}
    if output=$("$iocompare" image build --kind "$image" 2>&1); then
        envs+=(--env "$env")
    else
        echo "quickstart: skipping $env: ${output##*$'\n'}"
    fi
done

status=0
"$iocompare" run --suite quick --skip-unavailable "${envs[@]}" "$@" || status=$?
elapsed=$((SECONDS - started))
echo
echo "quickstart: finished in $((elapsed / 60)) min $((elapsed % 60)) s wall time (setup included)."
echo "iocompare is in $(pwd)/.venv/bin; 'source .venv/bin/activate' puts it on your PATH."
exit "$status"
