#!/bin/bash
# Unpacks the module tree of Debian 12's current stock kernel (the image package linux-image-amd64 depends on
# today, never a pinned ABI name) for the Initramfs tests and indexes it with depmod. Run by the tests themselves,
# possibly by several at once (serialized with a lock). Prints "<tree> <release>" on its last line.
# Idempotent: with the tree of the archive's current release in place it only prints; when the archive cannot be
# read, a tree already unpacked serves.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=Tests/Support/debian-archive.sh
source "$here/../Support/debian-archive.sh"
cache=${OOPSD_TEST_CACHE:-/var/cache/oopsd-test}
mkdir -p "$cache"
exec 9>"$cache/module-tree.lock"
flock 9

tree=$cache/root61
if pkg=$(archive_kernel_package bookworm); then
    release=${pkg#linux-image-}
elif [[ -s $tree/release ]]; then
    release=$(cat "$tree/release")
    echo "prepare-module-tree: the archive could not be read; using the unpacked $release" >&2
else
    echo "prepare-module-tree: cannot resolve linux-image-amd64 in bookworm and no tree is unpacked in $tree" >&2
    exit 1
fi
if [[ -s $tree/release && $(cat "$tree/release") == "$release" && -f $tree/lib/modules/$release/modules.dep.bin ]]; then
    echo "$tree $release"
    exit 0
fi
archive_download "$cache/debs" "linux-image-$release" || {
    echo "prepare-module-tree: cannot download linux-image-$release" >&2
    exit 1
}
rm -rf "$tree.tmp" "$tree"
mkdir -p "$tree.tmp"
dpkg-deb -x "$(ls "$cache/debs/linux-image-${release}_"*.deb | head -n 1)" "$tree.tmp"
depmod -b "$tree.tmp" "$release"
echo "$release" >"$tree.tmp/release"
mv "$tree.tmp" "$tree"
echo "$tree $release"
