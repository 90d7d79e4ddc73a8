#!/usr/bin/env python3
"""Explain the frames one filtered dump keeps and another leaves out, from the crashed kernel's struct pages.

kept_only_census.py ORIGINAL KEEPS_MORE LEAVES_OUT

ORIGINAL is the unfiltered ELF vmcore; KEEPS_MORE and LEAVES_OUT are kdump-compressed dumps of it (e.g. oopsd's and
makedumpfile's at the same level). For every frame only KEEPS_MORE holds, the struct page is read from ORIGINAL
(vmemmap translated through the page tables from init_top_pgt) and the frame is counted by what it is: a tail page
(and then its head's page type and flags) or not (its own flags and page type). Prints the counts, largest first,
then what those frames cost in KEEPS_MORE's file (their page descriptors and the data no other frame points at) and
how large the file would be without them, against LEAVES_OUT's size.
Written to explain differences from makedumpfile per category (issue 15).
"""
import os
import re
import struct
import sys
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kdump_compare  # noqa: E402

START_KERNEL_MAP = 0xFFFFFFFF80000000
ADDRESS_MASK = 0x000FFFFFFFFFF000


class Memory:
    """Physical memory and VMCOREINFO of an ELF vmcore."""

    def __init__(self, path):
        self.f = open(path, "rb")
        head = self.f.read(64)
        phoff, = struct.unpack_from("<Q", head, 32)
        phnum, = struct.unpack_from("<H", head, 56)
        self.f.seek(phoff)
        table = self.f.read(56 * phnum)
        self.loads, notes = [], b""
        for i in range(phnum):
            p_type, _, off, _, paddr, filesz, _, _ = struct.unpack_from("<IIQQQQQQ", table, 56 * i)
            if p_type == 1:
                self.loads.append((paddr, off, filesz))
            elif p_type == 4:
                self.f.seek(off)
                notes += self.f.read(filesz)
        self.info = {}
        for line in re.findall(rb"[A-Za-z_()\.0-9]+=[^\n\x00]*", notes):
            key, value = line.decode(errors="replace").split("=", 1)
            self.info.setdefault(key, value)
        self.top = int(self.info["SYMBOL(init_top_pgt)"], 16) - START_KERNEL_MAP + int(self.info["NUMBER(phys_base)"])
        self.levels = [48, 39, 30, 21, 12] if self.info.get("NUMBER(pgtable_l5_enabled)") == "1" else [39, 30, 21, 12]
        self.vmemmap = int(self.info["SYMBOL(vmemmap)"], 16)
        self.page_size = int(self.info["SIZE(page)"])
        self.mapcount = int(self.info["OFFSET(page._mapcount)"])
        tail_key = "OFFSET(page.compound_info)" if "OFFSET(page.compound_info)" in self.info else "OFFSET(page.compound_head)"
        self.tail = int(self.info[tail_key])

    def read(self, physical, length):
        for start, offset, size in self.loads:
            if start <= physical < start + size:
                self.f.seek(offset + physical - start)
                return self.f.read(length)
        return None

    def word(self, physical):
        data = self.read(physical, 8)
        return struct.unpack("<Q", data)[0] if data else None

    def translate(self, virtual):
        table = self.top
        for shift in self.levels:
            entry = self.word(table + ((virtual >> shift) & 511) * 8)
            if entry is None or not entry & 1:
                return None
            if shift in (30, 21) and entry & 0x80:
                return (entry & ADDRESS_MASK & ~((1 << shift) - 1)) | (virtual & ((1 << shift) - 1))
            table = entry & ADDRESS_MASK
        return table | (virtual & 0xFFF)

    def page(self, pfn):
        """(flags, tail word, _mapcount) of pfn's struct page, or None when it is not mapped."""
        physical = self.translate(self.vmemmap + pfn * self.page_size)
        data = self.read(physical, self.page_size) if physical is not None else None
        if data is None:
            return None
        flags, = struct.unpack_from("<Q", data, 0)
        tail, = struct.unpack_from("<Q", data, self.tail)
        mapcount, = struct.unpack_from("<i", data, self.mapcount)
        return flags, tail, mapcount

    def head_of(self, pfn, tail):
        """The head pfn of a tail page: the word is a pointer + 1, or (7.x) a mask over the tail's own address."""
        address = self.vmemmap + pfn * self.page_size
        mask = tail & ~1
        head = address & mask if mask >= 0xFFFFFFFFFF000000 else tail - 1
        return (head - self.vmemmap) // self.page_size


def kind(mapcount):
    return f"type {mapcount & 0xFFFFFFFF:#x}" if mapcount < -1 else f"mapcount {mapcount}"


def main(argv):
    if len(argv) != 4:
        sys.exit(__doc__)
    memory = Memory(argv[1])
    more, fewer = kdump_compare.Kdump(argv[2]), kdump_compare.Kdump(argv[3])
    only = set(more.frames(more.second)) - set(fewer.frames(fewer.second))
    census = Counter()
    for pfn in sorted(only):
        page = memory.page(pfn)
        if page is None:
            census["struct page not mapped"] += 1
            continue
        flags, tail, mapcount = page
        if tail & 1:
            head = memory.page(memory.head_of(pfn, tail))
            census[f"tail page; head {kind(head[2])}, flags {head[0] & 0xFFFFF:#x}" if head else "tail page; head unreadable"] += 1
        else:
            census[f"not a tail; {kind(mapcount)}, flags {flags & 0xFFFFF:#x}"] += 1
    print(f"{len(only)} frames kept only by {argv[2]}:")
    for what, count in census.most_common():
        print(f"{count:8d}  {what}")
    if only:
        print(cost(more, only, os.path.getsize(argv[2]), os.path.getsize(argv[3])))


def cost(kdump, only, size, other_size):
    """A sentence: the bytes the frames `only` take in `kdump` (a file of `size` bytes), and the file without them."""
    shared, own = set(), {}
    for pfn, offset, stored, _ in kdump.descriptors():
        if pfn in only:
            own[offset] = stored
        else:
            shared.add(offset)
    data = sum(stored for offset, stored in own.items() if offset not in shared)
    descriptors = 24 * len(only)
    rest = size - data - descriptors
    return (f"they take {data + descriptors:,} bytes of its {size:,} ({data:,} of page data, {descriptors:,} of page "
            f"descriptors); without them {rest:,} bytes, {rest / other_size:.3f} of the other file's {other_size:,}")


if __name__ == "__main__":
    main(sys.argv)
