#!/usr/bin/env python3
"""Compare every page a dump kept with the same physical page of a reference that oopsd did not read.

reference_compare.py REFERENCE DUMP [--exclude START-END]...

REFERENCE: an ELF core of the guest's whole RAM by physical address (QEMU's `dump-guest-memory` with paging off,
taken while the capture kernel ran: outside the crashkernel reservation and the low megabyte, which the capture
kernel may use, memory is the crashed kernel's, untouched).
DUMP: oopsd's dump, ELF (its kept pages are the frames with file data; memory past a segment's file data was left
out) or kdump-compressed (the second bitmap; pages zlib, zstd through libzstd, or stored).
--exclude START-END: physical byte range (hex; END exclusive, or its last byte as /proc/iomem prints it) not compared; its kept pages are counted apart.
Prints one line of counts; exits 1 when a compared page differs or is missing from the reference.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kdump_compare import PAGE, Kdump, frame_map  # noqa: E402


def kdump_pages(path):
    """(pfn, bytes) of every page a kdump-compressed file holds."""
    return Kdump(path).pages()


def elf_pages(path):
    """(pfn, bytes) of every frame an ELF core holds file data for."""
    with open(path, "rb") as f:
        for pfn, offset in sorted(frame_map(path).items()):
            if offset is not None:
                f.seek(offset)
                yield pfn, f.read(PAGE)


def main(argv):
    reference, dump = argv[1], argv[2]
    excluded = []
    rest = argv[3:]
    while rest:
        if rest[0] != "--exclude" or len(rest) < 2:
            sys.exit(__doc__)
        start, end = (int(x, 16) for x in rest[1].split("-"))
        excluded.append((start // PAGE, (end + PAGE - 1) // PAGE))
        rest = rest[2:]
    with open(dump, "rb") as f:
        kdump = f.read(8) == b"KDUMP   "
    frames = frame_map(reference)
    compared = equal = skipped = 0
    differing, missing = [], []
    with open(reference, "rb") as ref:
        for pfn, data in (kdump_pages(dump) if kdump else elf_pages(dump)):
            if any(start <= pfn < end for start, end in excluded):
                skipped += 1
                continue
            offset = frames.get(pfn)
            if offset is None:
                missing.append(pfn)
                continue
            ref.seek(offset)
            compared += 1
            if ref.read(PAGE) == data:
                equal += 1
            else:
                differing.append(pfn)
    print(f"{compared} kept pages compared with the reference: {equal} equal, {len(differing)} differing, "
          f"{len(missing)} not in the reference; {skipped} kept pages in excluded ranges not compared")
    if differing or missing:
        print("first differing pfns: " + " ".join(hex(p) for p in differing[:16]))
        print("first pfns not in the reference: " + " ".join(hex(p) for p in missing[:16]))
        sys.exit(1)
    if compared == 0:
        sys.exit("no page compared")


if __name__ == "__main__":
    main(sys.argv)
