#!/usr/bin/env bash
# Installs what iocompare needs on a Debian/Ubuntu machine (run as root): Debian packages,
# then the Python package into ./.venv. Idempotent: a second run installs nothing new.
#   IOCOMPARE_EXTRAS=test  also installs the test dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(fio qemu-system-x86 busybox-static e2fsprogs)  # qemu, guest image: docs/microvms.md
DEBIAN_PACKAGES+=(podman runc docker.io)  # containers: docs/containers.md (dockerd is not started here)
DEBIAN_PACKAGES+=(xfsprogs btrfs-progs)  # filesystems a run makes on a target: docs/targets-and-hosts.md
DEBIAN_PACKAGES+=(chromium)  # the HTML report's browser test (Python playwright drives it; never `playwright install`)
DEBIAN_PACKAGES+=(iperf3 sockperf iproute2 ethtool)  # network runs: docs/network.md

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    missing+=(python3-venv python3-pip)
fi
# The microVM guest image is built from Debian's cloud kernel (`apt-get download`), which needs
# current package lists even when every package above is already installed.
if ! apt-cache policy linux-image-cloud-amd64 2>/dev/null | grep -q "Candidate: [0-9]"; then
    need_update=1
fi
if ((${#missing[@]})) || [[ -n "${need_update:-}" ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    if ((${#missing[@]})); then
        echo "setup: installing Debian packages: ${missing[*]}"
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
fi

if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
fi
spec="."
if [[ -n "${IOCOMPARE_EXTRAS:-}" ]]; then
    spec=".[${IOCOMPARE_EXTRAS}]"
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec"
echo "setup: iocompare installed in $(pwd)/.venv ($(.venv/bin/iocompare --help >/dev/null && echo ok))"
