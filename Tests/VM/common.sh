# Shared by prepare, run and lib.sh: paths and tiny helpers. Sourced, not executed.
# shellcheck shell=bash

OOPSD_VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OOPSD_REPO=$(cd "$OOPSD_VM_DIR/../.." && pwd)
: "${OOPSD_VM_CACHE:=/var/cache/oopsd-vm}"
: "${OOPSD_VM_WORK:=$OOPSD_REPO/.build-vm-work}"
export OOPSD_VM_CACHE OOPSD_VM_WORK
# crash: Debian sid's (9.0.2 on 2026-12-05), run through sid's own loader (Tests/Support/sid-tool; prepare writes
# the wrapper's path to crash-path). It reads the dumps of all four kernels: bookworm's 8.0.2 cannot read 6.12's,
# trixie's 8.0.6 (which the harness built from source before) stopped on 7.x's original /proc/vmcore.
VM_CRASH=$(cat "$OOPSD_VM_CACHE/crash-path" 2>/dev/null || echo "$OOPSD_VM_CACHE/crash-path-missing")

log() { printf '[vm] %s\n' "$*" >&2; }
die() { printf '[vm] error: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
# Seconds since $1 (from now), one decimal.
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------- the kernel matrix (the one place)
# The kernels the harness boots, by tag; each is the image package Debian's linux-image-amd64 depends on in a suite
# (resolved in the archive at every prepare, never pinned).
KERNEL_TAGS=(6.1 6.12 7.2 7.3)
# kernel_archive_suite TAG: the suite whose linux-image-amd64 gives the kernel of that tag.
kernel_archive_suite() {
    case $1 in
        6.1) echo bookworm ;;
        6.12) echo bookworm-backports ;;
        7.2) echo sid ;;
        7.3) echo trixie-backports ;;
        *) die "no kernel tag '$1' (${KERNEL_TAGS[*]})" ;;
    esac
}
# kernel_scenarios TAG: the scenarios the test command runs on the kernel: names, "all" (every scenario whose
# SCENARIO_KERNELS has the kernel), and "-name" for one left out of "all". 6.1 and 6.12 run most scenarios: the
# network captures and downtime on 6.1, the captures of broken input (corrupt-vmcoreinfo, disk-full: what they break
# is not the kernel's) on 6.12, which keeps the two kernels' chains of tests (Tests/VM/run never runs two tests of
# one kernel at once) near half the suite each; 7.2 panic, oops and filter (with the baseline dump filter reads);
# 7.3 the same and downtime (the oldest and the newest kernel time the return). This keeps the test command under
# its 60-minute target on a slow 2-core host (49.2 min from empty caches; with package on 7.3 as well, 57.5 min).
# VM_MATRIX=all runs every scenario on every kernel it can run on (SCENARIO_KERNELS), as after a change to the
# harness or a kernel.
kernel_scenarios() {
    case $1 in
        6.1) echo "all -corrupt-vmcoreinfo -disk-full" ;;
        6.12) echo "all -netcapture -netcapture-sftp -downtime" ;;
        7.2) echo "baseline panic oops filter" ;;
        7.3) echo "baseline panic oops filter downtime" ;;
        *) die "no kernel tag '$1' (${KERNEL_TAGS[*]})" ;;
    esac
}
# kernel_baseline_shape TAG: how the tag's baseline guest differs from the plain busy guest, so that filter reads
# more than one kind of dump: "numa" (7.3: two NUMA nodes, half the memory and one CPU each), "wrapped-log" (7.2:
# 3,000 records written to /dev/kmsg, more than the printk ring holds, so the oldest are overwritten), or "plain".
kernel_baseline_shape() {
    case $1 in
        7.2) echo wrapped-log ;;
        7.3) echo numa ;;
        *) echo plain ;;
    esac
}
# kernel_toolchain_suite TAG: where Kernel/ is built against the kernel's headers: nothing for this machine's gcc
# (bookworm's gcc 12 builds 6.1 and 6.12 modules), else the suite of a build root (tools/debian-rootfs --no-kernel)
# with the kernel's own linux-headers package and the compiler it names (7.3: gcc-14 of trixie; 7.2: gcc-16 of sid).
kernel_toolchain_suite() {
    case $1 in
        6.1|6.12) echo "" ;;
        7.2) echo sid ;;
        7.3) echo trixie-backports ;;
        *) die "no kernel tag '$1' (${KERNEL_TAGS[*]})" ;;
    esac
}

# kernel_build_root TAG: the unpacked build root of the tag's kernel (made once from the debian-rootfs tarball,
# under $OOPSD_VM_CACHE/build-roots/); prints its path. Only for tags with a toolchain suite.
kernel_build_root() {
    local suite rel tarball dir
    suite=$(kernel_toolchain_suite "$1")
    rel=$(kernel_release "$1")
    [[ -n $suite ]] || die "kernel $1 is built with this machine's compiler, not in a build root"
    tarball=$("$OOPSD_VM_DIR/tools/debian-rootfs" --no-kernel "$suite" "linux-headers-$rel" binutils make) ||
        die "no build root of $suite for linux-headers-$rel"
    dir=$OOPSD_VM_CACHE/build-roots/$(basename "$tarball" .tar.zst)
    mkdir -p "$OOPSD_VM_CACHE/build-roots"
    (
        flock 9
        [[ -f $dir/.complete ]] && exit 0
        rm -rf "$dir"
        mkdir -p "$dir"
        zstd -qdc "$tarball" | tar -x --numeric-owner -C "$dir" || die "cannot unpack $tarball into $dir"
        [[ -f $dir/usr/src/linux-headers-$rel/Makefile ]] || die "the build root $dir has no linux-headers-$rel"
        touch "$dir/.complete"
    ) 9>"$dir.lock" || return 1
    echo "$dir"
}

# kernel_crash_reads TAG: whether panic and filter read the kernel's dumps with crash as well as drgn, vmcore-dmesg
# and makedumpfile: on every kernel, but with OOPSD_VM_TOOLS=demo (scripts/demo), where crash and the debug vmlinux
# (a ~1.2 GB download each) are not prepared.
kernel_crash_reads() {
    [[ ${OOPSD_VM_TOOLS:-all} != demo ]]
}

# kernel_runs TAG SCENARIO: whether the matrix runs SCENARIO on TAG (always with VM_MATRIX=all).
kernel_runs() {
    local list
    [[ ${VM_MATRIX:-} == all ]] && return 0
    list=" $(kernel_scenarios "$1") "
    [[ $list != *" -$2 "* ]] && [[ $list == *" all "* || $list == *" $2 "* ]]
}

# Cache directory of an unpacked kernel: release file, root/ (the packages unpacked: root/boot or, for Debian's
# split 7.x packages, root/usr/lib/modules/<release>/vmlinuz; root/lib/modules/<release>, through a root/lib link to
# usr/lib for the 7.x packages).
kernel_dir() { echo "$OOPSD_VM_CACHE/kernel-$1"; }
kernel_release() {
    local f
    f=$(kernel_dir "$1")/release
    [[ -r $f ]] || die "kernel $1 is not prepared (run Tests/VM/prepare)"
    cat "$f"
}
# kernel_image TAG: the kernel image in the cache, where its package put it.
kernel_image() {
    local root rel
    root=$(kernel_dir "$1")/root
    rel=$(kernel_release "$1")
    if [[ -f $root/boot/vmlinuz-$rel ]]; then echo "$root/boot/vmlinuz-$rel"; else echo "$root/usr/lib/modules/$rel/vmlinuz"; fi
}

# Unpacked headers of a kernel release (prepare fills it): the tree Kernel/ is built against.
kernel_headers_root() { echo "$OOPSD_VM_CACHE/headers/$1"; }
kernel_headers_dir() { echo "$(kernel_headers_root "$1")/usr/src/linux-headers-$1"; }

# kernel_suite TAG: the Debian suite whose stock kernel is of that tag, for the systemd guest (vm_systemd_guest):
# 6.1 is bookworm's (Debian 12), 6.12 trixie's (Debian 13), 7.2 sid's, 7.3 trixie-backports' (Debian 13 with the
# backports kernel). 7.x are Debian's split packages. That guest boots the suite's kernel, not the tag's.
kernel_suite() {
    case $1 in
        6.1) echo bookworm ;;
        6.12) echo trixie ;;
        7.2) echo sid ;;
        7.3) echo trixie-backports ;;
        *) die "no Debian suite for kernel tag '$1' (6.1: bookworm, 6.12: trixie, 7.2: sid, 7.3: trixie-backports)" ;;
    esac
}
