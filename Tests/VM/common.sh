# Shared by prepare, run and lib.sh: paths and tiny helpers. Sourced, not executed.
# shellcheck shell=bash

OOPSD_VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OOPSD_REPO=$(cd "$OOPSD_VM_DIR/../.." && pwd)
: "${OOPSD_VM_CACHE:=/var/cache/oopsd-vm}"
: "${OOPSD_VM_WORK:=$OOPSD_REPO/.build-vm-work}"
export OOPSD_VM_CACHE OOPSD_VM_WORK
# crash 8.0.6, built by tools/build-crash (prepare runs it): bookworm's crash 8.0.2 cannot read 6.12 dumps.
VM_CRASH=$OOPSD_VM_CACHE/crash-8.0.6/crash

log() { printf '[vm] %s\n' "$*" >&2; }
die() { printf '[vm] error: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
# Seconds since $1 (from now), one decimal.
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Cache directory of an unpacked kernel: release file, root/boot, root/lib/modules.
kernel_dir() { echo "$OOPSD_VM_CACHE/kernel-$1"; }
kernel_release() {
    local f
    f=$(kernel_dir "$1")/release
    [[ -r $f ]] || die "kernel $1 is not prepared (run Tests/VM/prepare)"
    cat "$f"
}

# Unpacked headers of a kernel release (prepare fills it): the tree Kernel/ is built against.
kernel_headers_root() { echo "$OOPSD_VM_CACHE/headers/$1"; }
kernel_headers_dir() { echo "$(kernel_headers_root "$1")/usr/src/linux-headers-$1"; }

# kernel_suite TAG: the Debian suite whose stock kernel is of that tag, for the systemd guest (vm_systemd_guest):
# 6.1 is bookworm's (Debian 12), 6.12 trixie's (Debian 13). That guest boots the suite's kernel, not the tag's.
kernel_suite() {
    case $1 in
        6.1) echo bookworm ;;
        6.12) echo trixie ;;
        *) die "no Debian suite for kernel tag '$1' (6.1: bookworm, 6.12: trixie)" ;;
    esac
}
