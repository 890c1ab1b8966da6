"""Guest image build time from a cold cache and from a warm cache; a warm build must not rebuild.

Cold: an empty artifact cache (kernel unpacked, vmlinux extracted, initramfs assembled). The
Debian kernel package itself is taken from the user's download cache when it is there (say
--download to fetch it again with apt-get, as a first build on a new machine does).

    .venv/bin/python benchmarks/microvm_image_build.py [--download]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import IOCOMPARE


def build(cache: Path) -> tuple[float, str]:
    env = {**os.environ, "IOCOMPARE_CACHE_DIR": str(cache)}
    started = time.monotonic()
    done = subprocess.run(
        [*IOCOMPARE, "image", "build", "--kind", "guest"], capture_output=True, text=True, env=env, timeout=1800
    )
    wall_s = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"image build failed ({done.returncode}):\n{done.stderr}")
    return wall_s, done.stdout + done.stderr


def snapshot(cache: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in (cache / "guest").rglob("*") if p.is_file()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--download", action="store_true", help="fetch the kernel package again (needs the network)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from iocompare.environments.microvm.image import cache_dir

    work = Path(tempfile.mkdtemp(prefix="iocompare-image-bench-"))
    try:
        user_downloads = cache_dir() / "downloads"
        if not args.download and user_downloads.is_dir():
            shutil.copytree(user_downloads, work / "downloads")
        cold_s, cold_log = build(work)
        before = snapshot(work)
        warm_s, warm_log = build(work)
        rebuilt = snapshot(work) != before or "assembling" in warm_log
        source = "fetched with apt-get download" if "downloading" in cold_log else "from the download cache"
        print("guest image build (iocompare image build --kind guest):")
        print(f"  cold cache: {cold_s:6.1f} s  (kernel package {source})")
        print(f"  warm cache: {warm_s:6.1f} s  (rebuilt: {'YES - a bug' if rebuilt else 'no'})")
        print(f"  warm/cold ratio: {warm_s / cold_s:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
