"""The guest side of the microVM protocol: the init script (PID 1 of every guest) and the
constants the host side (environments/microvm_guest.py) shares with it.

Why this protocol and not fio's client/server mode over a forwarded TCP port: it needs no guest
network at all, so it works the same in QEMU and in Firecracker (which has no user-mode
networking), and the guest needs no network modules or addresses. The host talks to init over
the serial console, one command per line; the fio job and its json+ output travel as small tar
archives on a second virtio disk, the "control" disk, so the output is byte-exact and never mixed
with kernel messages on the console. Disks are told apart not by probe order but by their
virtio-blk serial (QEMU sets it) or, where the VMM derives the serial itself (Firecracker), by
the label in the control disk's first sector; the one other disk is then the target (a virtio-blk
vdX, or with QEMU's virtio-scsi drive model an sdX, whose serial sysfs does not show).

    host -> console   guest -> console                 meaning
    (boot)            @@IOC ready <facts>              disks found, commands accepted; facts
                                                       include disk= (the target's name, vda
                                                       or sda), clocksource= and clocksources=
    drop              @@IOC drop ok|fail               sync; drop the guest's page cache
    mkfs              @@IOC mkfs ok|fail <log>         ext4 on the target disk (lazy init off)
    mount             @@IOC mount ok|fail <mounts>     mount it on /mnt/iocompare
    run               @@IOC run done <fio exit code>   job.fio from control disk offset 4 KiB;
                      clocksource=<name>               out.json, stderr.txt, rc back at 1 MiB;
                                                       the guest's clock at the end of fio
    off               (power off)
"""

from __future__ import annotations

import shlex

from iocompare.engines.fio_argv import fio_argv

MARKER = "@@IOC"
TARGET_SERIAL = "iocompare_target"  # also a valid Firecracker drive_id (alphanumerics and _)
CONTROL_SERIAL = "iocompare_control"
GUEST_TARGET_DEVICE = "/dev/iocompare/target"
GUEST_MOUNT_POINT = "/mnt/iocompare"
CONTROL_LABEL = "IOCOMPARE-CONTROL-DISK v1"  # at offset 0 of the control disk
CONTROL_JOB_OFFSET = 4096  # the job archive
CONTROL_RESULT_OFFSET = 1 << 20  # the result archive
GUEST_FIO_PATH = "/bin/fio"  # the host's fio, copied into the initramfs
GUEST_FIO_JOB = "job.fio"  # in /run/job, the guest's working directory for a trial
GUEST_FIO_OUTPUT = "out.json"
CONTROL_DISK_BYTES = 64 << 20  # sparse; json+ output is well below this
MODULE_LIST = "/etc/iocompare/modules"
CLOCKSOURCE_DIR = "/sys/devices/system/clocksource/clocksource0"  # the guest's clock, for latency resolution

INIT_SCRIPT = (
    r"""#!/bin/busybox sh
# iocompare guest init: see iocompare/environments/microvm/guest_init.py for the protocol.
/bin/busybox mkdir -p /bin /proc /sys /dev /run /tmp __MOUNT__
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() { echo "__MARKER__ $*"; }
fatal() { say fatal "$*"; sleep 1; poweroff -f; }
while read -r module; do
    insmod "/lib/modules/$module" || fatal "insmod $module failed"
done < __MODULES__
mkdir -p /dev/iocompare
tries=0
while :; do
    target_blk= control_blk= others=
    for blk in /sys/block/vd* /sys/block/sd*; do
        [ -r "$blk/dev" ] || continue
        serial=$(cat "$blk/serial" 2> /dev/null)
        label=$(dd if="/dev/${blk##*/}" bs=512 count=1 2> /dev/null | head -c __LABEL_LENGTH__)
        if [ "$serial" = __CONTROL__ ] || [ "$label" = "__LABEL__" ]; then control_blk=$blk
        elif [ "$serial" = __TARGET__ ]; then target_blk=$blk
        else others="$others $blk"
        fi
    done
    set -- $others
    [ -z "$target_blk" ] && [ $# -eq 1 ] && target_blk=$1
    [ -n "$target_blk" ] && [ -n "$control_blk" ] && break
    tries=$((tries + 1))
    [ "$tries" -gt 300 ] && fatal "disks not found: $(ls /sys/block)"
    sleep 0.1
done
mknod /dev/iocompare/target b $(sed 's/:/ /' "$target_blk/dev")
mknod /dev/iocompare/control b $(sed 's/:/ /' "$control_blk/dev")
stty -echo 2>/dev/null
say ready kernel=$(uname -r) disk=${target_blk##*/} lbs=$(cat "$target_blk/queue/logical_block_size") """
    r"""target_bytes=$(($(cat "$target_blk/size") * 512)) """
    r"""mem_kib=$(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo) cpus=$(nproc) """
    r"""clocksource=$(cat __CLOCKSOURCE__/current_clocksource 2> /dev/null) """
    r"""clocksources=$(cat __CLOCKSOURCE__/available_clocksource 2> /dev/null | tr -s ' ' ',' | sed 's/,$//')
run_job() {
    rm -rf /run/job && mkdir -p /run/job && cd /run/job || return 1
    # The host wrote the job after boot: forget any block of the control disk read before.
    blockdev --flushbufs /dev/iocompare/control
    dd if=/dev/iocompare/control bs=4096 skip=__JOB_BLOCKS__ count=255 2> /dev/null | tar -xf - job.fio 2> tar.log \
        || { echo "cannot read the job archive from the control disk: $(cat tar.log)" > stderr.txt; echo 254 > rc; }
    if [ -f job.fio ]; then
        __FIO_ARGV__ > stdout.txt 2> stderr.txt
        echo $? > rc
    fi
    touch out.json stdout.txt
    tar -cf /run/result.tar out.json stderr.txt stdout.txt rc
    dd if=/run/result.tar of=/dev/iocompare/control bs=4096 seek=__RESULT_BLOCKS__ conv=notrunc,fsync 2> /dev/null
    sync
    say run done "$(cat rc)" "clocksource=$(cat __CLOCKSOURCE__/current_clocksource 2> /dev/null)"
    cd /
}
while read -r command argument; do
    case "$command" in
        drop) sync && echo 3 > /proc/sys/vm/drop_caches && say drop ok || say drop fail ;;
        mkfs)
            if /sbin/mke2fs -q -F -t ext4 -m 0 -E lazy_itable_init=0,lazy_journal_init=0,nodiscard """
    r"""/dev/iocompare/target > /run/mkfs.log 2>&1
            then say mkfs ok; else say mkfs fail "$(tail -c 300 /run/mkfs.log | tr '\n' ' ')"; fi ;;
        mount)
            if mount -t ext4 /dev/iocompare/target __MOUNT__ 2> /run/mount.log
            then say mount ok "$(grep ' __MOUNT__ ' /proc/mounts)"; else say mount fail "$(cat /run/mount.log)"; fi ;;
        run) run_job ;;
        off) sync; poweroff -f ;;
        "") ;;
        *) say unknown "$command" ;;
    esac
done
fatal "console closed"
"""
)


def render_init() -> str:
    text = INIT_SCRIPT
    for key, value in {
        "__MARKER__": MARKER,
        "__CLOCKSOURCE__": CLOCKSOURCE_DIR,
        "__TARGET__": TARGET_SERIAL,
        "__CONTROL__": CONTROL_SERIAL,
        "__MOUNT__": GUEST_MOUNT_POINT,
        "__MODULES__": MODULE_LIST,
        "__RESULT_BLOCKS__": str(CONTROL_RESULT_OFFSET // 4096),
        "__JOB_BLOCKS__": str(CONTROL_JOB_OFFSET // 4096),
        "__LABEL_LENGTH__": str(len(CONTROL_LABEL)),
        "__LABEL__": CONTROL_LABEL,
        "__FIO_ARGV__": shlex.join(fio_argv(GUEST_FIO_PATH, output=f"/run/job/{GUEST_FIO_OUTPUT}", job=GUEST_FIO_JOB)),
    }.items():
        text = text.replace(key, value)
    return text
