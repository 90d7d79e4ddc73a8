#!/bin/sh
# Unpacks the stock Debian 6.1 kernel's module tree for the Initramfs tests and indexes it with depmod.
# Idempotent: a second run with the tree in place does nothing. Run by the tests themselves.
set -eu
release=6.1.0-56-amd64
cache=${OOPSD_TEST_CACHE:-/var/cache/oopsd-test}
tree=$cache/root61
if [ -f "$tree/lib/modules/$release/modules.dep.bin" ]; then exit 0; fi
mkdir -p "$cache"
cd "$cache"
ls linux-image-$release_*.deb >/dev/null 2>&1 || apt-get download "linux-image-$release" >&2
rm -rf "$tree.tmp"
mkdir -p "$tree.tmp"
dpkg-deb -x linux-image-${release}_*.deb "$tree.tmp"
depmod -b "$tree.tmp" "$release"
mv "$tree.tmp" "$tree"
