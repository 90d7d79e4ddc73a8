#!/usr/bin/env python3
"""Count the pages of a dump that start with the hugetlb workload's markers (guest/hugetlb-marker.c).

marker_scan.py DUMP

DUMP is an ELF vmcore (each physical frame counted once, as kdump_compare.py maps them) or a kdump-compressed
file (pages stored uncompressed or with zlib). Prints one line:
    inuse=N freed=N frames=N
N: frames whose first bytes are "OOPSD-HUGETLB-INUSE " (huge pages a process held at the crash) or
"OOPSD-HUGETLB-FREED " (free pages of the hugetlb pool); frames: frames the dump has a place for (the
frames a kdump file stores; all frames of an ELF file's PT_LOADs, where left-out frames may be holes read as zeros).
"""
import mmap
import sys

from kdump_compare import Kdump, frame_map

MARKERS = {b"OOPSD-HUGETLB-INUSE ": "inuse", b"OOPSD-HUGETLB-FREED ": "freed"}
PREFIX = b"OOPSD-HUGETLB-"


def classify(head, counts):
    if head.startswith(PREFIX):
        kind = MARKERS.get(head[:20])
        if kind:
            counts[kind] += 1


def scan(path):
    counts = {"inuse": 0, "freed": 0, "frames": 0}
    with open(path, "rb") as f:
        signature = f.read(8)
    if signature == b"KDUMP   ":
        for _, data in Kdump(path).pages():
            counts["frames"] += 1
            classify(data[:20], counts)
    elif signature[:4] == b"\x7fELF":
        frames = frame_map(path)
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            for offset in frames.values():
                counts["frames"] += 1
                # None: memory past a segment's file data, which reads as zeros.
                classify(m[offset:offset + 20] if offset is not None else bytes(20), counts)
    else:
        sys.exit(f"{path}: neither an ELF nor a kdump-compressed file")
    return counts


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    c = scan(sys.argv[1])
    print(f"inuse={c['inuse']} freed={c['freed']} frames={c['frames']}")
